using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;

namespace BuildStatus.Process;

/// <summary>A step of a build. Its mutable state is guarded by the build's lock (<see cref="Build.Sync"/>).</summary>
internal sealed class Step : PersistedEntity, IStep
{
    private readonly Build _build;

    // Guarded by _build.Sync; views replaced, never mutated.
    private string _stateText = string.Empty;
    private DateTimeOffset? _startedAt;
    private DateTimeOffset? _finishedAt;
    private BuildResult? _result;
    private readonly List<Log> _logs = [];
    private IReadOnlyList<ILogStatus> _logsView = [];
    private IReadOnlyList<StepUrl> _urls = [];
    private IReadOnlyDictionary<string, double> _statistics = new Dictionary<string, double>();
    private bool _hidden;
    private DateTimeOffset? _eta;

    // Written by the writer only (OnCommitted), read anywhere: the last committed row.
    private volatile StoredStep? _committed;

    public Step(Build build, int number, string name)
    {
        _build = build;
        Number = number;
        Name = name;
    }

    internal Build Owner => _build;

    internal override Build? OutboxBuild => _build;

    internal override Lock SyncRoot => _build.Sync;

    public IBuildStatus Build => _build;

    public int Number { get; }

    public string Name { get; }

    public string StateText
    {
        get
        {
            lock (_build.Sync)
            {
                return _stateText;
            }
        }
    }

    public DateTimeOffset? StartedAt
    {
        get
        {
            lock (_build.Sync)
            {
                return _startedAt;
            }
        }
    }

    public DateTimeOffset? FinishedAt
    {
        get
        {
            lock (_build.Sync)
            {
                return _finishedAt;
            }
        }
    }

    public bool IsStarted => StartedAt is not null;

    public bool IsFinished => FinishedAt is not null;

    public BuildResult? Result
    {
        get
        {
            lock (_build.Sync)
            {
                return _result;
            }
        }
    }

    public IReadOnlyList<ILogStatus> Logs => Volatile.Read(ref _logsView);

    public IReadOnlyList<StepUrl> Urls => Volatile.Read(ref _urls);

    public IReadOnlyDictionary<string, double> Statistics => Volatile.Read(ref _statistics);

    public bool IsHidden
    {
        get
        {
            lock (_build.Sync)
            {
                return _hidden;
            }
        }
    }

    public DateTimeOffset? Eta
    {
        get
        {
            lock (_build.Sync)
            {
                return _eta;
            }
        }
    }

    public IPersistentStep Persistent
    {
        get
        {
            var committed = _committed;
            if (committed is null)
            {
                lock (_build.Sync)
                {
                    committed = Snapshot();
                }
            }

            return new PersistentStep(committed, _build.Context);
        }
    }

    internal StepKey Key => new(_build.Owner.Name, _build.Number, Number);

    // Caller holds _build.Sync.
    internal bool IsFinishedLocked => _finishedAt is not null;

    // Caller holds _build.Sync.
    internal BuildResult? ResultLocked => _result;

    public void Start()
    {
        var expected = _build.Owner.ExpectedStepDuration(Name);
        lock (_build.Sync)
        {
            _build.ThrowIfFinished("start", Name);
            if (_startedAt is not null)
            {
                throw new InvalidOperationException($"Step '{Name}' of {_build} has already started.");
            }

            var now = _build.Context.Now;
            _startedAt = now;
            _eta = expected is { } e ? now + e : null;
            _build.Context.Pipeline.MarkDirty(this);
            _build.Context.Publish(this, static (s, t) => new StepStarted(s) { Timestamp = t });
            _build.OnStepStarted(this, _eta);
            Diagnostics.BuildStatusTelemetry.StepStarted(this, now);
        }
    }

    public ILog AddLog(string name, LogKind kind = LogKind.Stdio)
    {
        name = Guard.Name(name, nameof(name));
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a defined LogKind value.");
        }

        lock (_build.Sync)
        {
            ThrowIfFinished("add a log to");
            foreach (var existing in _logs)
            {
                if (string.Equals(existing.Name, name, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Step '{Name}' of {_build} already has a log named '{name}'.", nameof(name));
                }
            }

            var log = new Log(this, _logs.Count, name, kind);
            _logs.Add(log);
            Volatile.Write(ref _logsView, _logs.ToArray());
            _build.Context.Pipeline.MarkDirty(log);
            _build.Context.Publish(log, static (l, t) => new LogStarted(l) { Timestamp = t });
            return log;
        }
    }

    public void SetStateText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = Guard.Text(text);
        lock (_build.Sync)
        {
            ThrowIfFinished("set the state text of");
            _stateText = text;
            Changed();
        }
    }

    public void AddUrl(string name, string url)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(url);
        var link = new StepUrl(Guard.Text(name), Guard.Text(url));
        lock (_build.Sync)
        {
            _build.ThrowIfFinished("add a link to", Name);
            Volatile.Write(ref _urls, [.. _urls, link]);
            Changed();
        }
    }

    public void SetStatistic(string name, double value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"Statistic '{name}' must be a finite number, not {value}.", nameof(value));
        }

        name = Guard.Text(name);
        lock (_build.Sync)
        {
            _build.ThrowIfFinished("set a statistic of", Name);
            var copy = new Dictionary<string, double>(_statistics, StringComparer.Ordinal) { [name] = value };
            Volatile.Write(ref _statistics, copy.AsReadOnly());
            Changed();
        }
    }

    public void SetHidden(bool hidden)
    {
        lock (_build.Sync)
        {
            _build.ThrowIfFinished("hide or show", Name);
            if (_hidden == hidden)
            {
                return;
            }

            _hidden = hidden;
            Changed();
        }
    }

    public void Finish(BuildResult result, string? stateText = null)
    {
        if (!Enum.IsDefined(result))
        {
            throw new ArgumentOutOfRangeException(nameof(result), result, "Not a defined BuildResult value.");
        }

        lock (_build.Sync)
        {
            ThrowIfFinished("finish");
            FinishLocked(result, stateText is null ? null : Guard.Text(stateText));
        }
    }

    // Caller holds _build.Sync.
    internal void FinishLocked(BuildResult result, string? stateText)
    {
        foreach (var log in _logs)
        {
            if (!log.IsFinishedLocked)
            {
                log.FinishLocked();
            }
        }

        var now = _build.Context.Now;
        _startedAt ??= now;
        _finishedAt = now;
        _result = result;
        _eta = null;
        if (stateText is not null)
        {
            _stateText = stateText;
        }

        _build.Context.Pipeline.MarkDirty(this);
        _build.Context.Publish(this, static (s, t) => new StepFinished(s, s._result!.Value) { Timestamp = t });
        _build.OnStepFinished(this);
        Diagnostics.BuildStatusTelemetry.StepFinished(this, _startedAt.Value, now, result);
    }

    // Caller holds _build.Sync.
    private void ThrowIfFinished(string action)
    {
        _build.ThrowIfFinished(action, Name);
        if (_finishedAt is not null)
        {
            throw new InvalidOperationException($"Cannot {action} step '{Name}' of {_build}: the step has finished ({_result}).");
        }
    }

    // Caller holds _build.Sync.
    private void Changed()
    {
        _build.Context.Pipeline.MarkDirty(this);
        _build.Context.Publish(this, static (s, t) => new StepTextChanged(s, s._stateText) { Timestamp = t });
    }

    // Caller holds _build.Sync.
    private StoredStep Snapshot()
        => new(Key, Name, _stateText, _startedAt, _finishedAt, _result, _urls, _statistics, _hidden);

    internal override bool IsLost => _build.IsLost;

    internal override void AppendTo(EntitySnapshot snapshot)
    {
        if (!_build.IsLost)
        {
            snapshot.Row = Snapshot();
        }
    }

    internal override void OnCommitted(EntitySnapshot snapshot)
    {
        if (snapshot.Row is StoredStep committed)
        {
            _committed = committed;
        }
    }

    internal override void OnDropped(EntitySnapshot snapshot, Exception cause) => _build.RecordDrop(cause);

    public override string ToString() => $"step '{Name}' of {_build}";
}
