using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;

namespace BuildStatus.Process;

/// <summary>A running (or recently finished) build, with its steps and logs.</summary>
/// <remarks>
/// <see cref="Sync"/> guards the mutable state of the build and of all its steps and logs: one lock per
/// build keeps the build's events in order and costs nothing across builds.
/// </remarks>
internal sealed class Build : PersistedEntity, IBuild
{
    private readonly HostContext _ctx;
    private readonly StoredBuild _initial;

    internal readonly Lock Sync = new();

    // Guarded by Sync. Views are replaced (never mutated) so readers need no lock.
    private Dictionary<string, PropertyValue> _properties;
    private IReadOnlyDictionary<string, PropertyValue> _propertiesView;
    private readonly List<Step> _steps = [];
    private IReadOnlyList<IStepStatus> _stepsView = [];
    private string _stateText;
    private BuildResult? _result;
    private DateTimeOffset? _finishedAt;
    private Step? _currentStep;
    private DateTimeOffset? _eta;

    // Set under Sync when FinishAsync takes effect, so no other mutation gets in after it; _finished completes after
    // the lock is released (its continuations must not run under it).
    private volatile bool _isFinished;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Set by the writer (OnDropped of this build or one of its steps and logs): why some of the build's data will
    // never be stored. Its durability tasks fault with it.
    private volatile Exception? _dropped;

    // Set under Sync by MarkLost: this host's instance was fenced and another instance finished the build in storage,
    // so nothing of it is written again. Read by the writer without the lock.
    private volatile bool _lost;

    // Written by the writer only (OnCommitted), read anywhere: the last committed row.
    private volatile StoredBuild _committed;

    public Build(HostContext ctx, Builder builder, StoredBuild initial)
    {
        _ctx = ctx;
        Owner = builder;
        _initial = initial;
        _committed = initial;
        _properties = new Dictionary<string, PropertyValue>(initial.Properties, StringComparer.Ordinal);

        // The same read-only view the build was created with, so storage can tell by reference that it did not change.
        _propertiesView = initial.Properties;
        _stateText = initial.StateText;
    }

    internal Builder Owner { get; }

    internal HostContext Context => _ctx;

    internal override Lock SyncRoot => Sync;

    public IBuilderStatus Builder => Owner;

    public int Number => _initial.Number;

    internal override Build? OutboxBuild => this;

    public string HostName => _initial.HostName;

    public string? Reason => _initial.Reason;

    public IReadOnlyList<SourceStamp> SourceStamps => _initial.SourceStamps;

    public IReadOnlyList<BuildChange> Changes => _initial.Changes;

    public IReadOnlyList<string> ResponsibleUsers => _initial.ResponsibleUsers;

    public string? WorkerName => _initial.WorkerName;

    public IReadOnlyDictionary<string, PropertyValue> Properties => Volatile.Read(ref _propertiesView);

    public DateTimeOffset StartedAt => _initial.StartedAt;

    public DateTimeOffset? FinishedAt
    {
        get
        {
            lock (Sync)
            {
                return _finishedAt;
            }
        }
    }

    public bool IsFinished => _isFinished;

    public string StateText
    {
        get
        {
            lock (Sync)
            {
                return _stateText;
            }
        }
    }

    public BuildResult? Result
    {
        get
        {
            lock (Sync)
            {
                return _result;
            }
        }
    }

    public IReadOnlyList<IStepStatus> Steps => Volatile.Read(ref _stepsView);

    public IStepStatus? CurrentStep
    {
        get
        {
            lock (Sync)
            {
                return _currentStep;
            }
        }
    }

    public DateTimeOffset? Eta
    {
        get
        {
            lock (Sync)
            {
                return _eta;
            }
        }
    }

    public IPersistentBuild Persistent => new PersistentBuild(_committed, _ctx);

    internal BuildKey Key => new(Owner.Name, Number);

    public PropertyValue? GetProperty(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Properties.TryGetValue(name, out var value) ? value : null;
    }

    public Task WaitUntilFinishedAsync(CancellationToken cancellationToken = default)
        => _finished.Task.WaitAsync(cancellationToken);

    internal void PublishStarted(TimeSpan? expected)
    {
        lock (Sync)
        {
            _eta = expected is { } e ? StartedAt + e : null;
            _ctx.Publish(this, static (b, now) => new BuildStarted(b) { Timestamp = now });
            if (_eta is not null)
            {
                _ctx.Publish(this, static (b, now) => new EtaUpdated(b, b._eta, null, null) { Timestamp = now });
            }

            if (_ctx.Pipeline.WritesEvents)
            {
                // The outbox announces a build with the first batch that holds one of its rows: queue the build's row
                // now, so other hosts see a build that started and then waits, and later changes compare with it.
                _ctx.Pipeline.MarkDirty(this);
            }
        }
    }

    public IStep AddStep(string name)
    {
        name = Guard.Name(name, nameof(name));
        lock (Sync)
        {
            ThrowIfFinished("add a step to");
            var step = new Step(this, _steps.Count, name);
            _steps.Add(step);
            Volatile.Write(ref _stepsView, _steps.ToArray());
            _ctx.Pipeline.MarkDirty(step);
            return step;
        }
    }

    public void SetStateText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = Guard.Text(text);
        lock (Sync)
        {
            ThrowIfFinished("set the state text of");
            _stateText = text;
            _ctx.Pipeline.MarkDirty(this);
            _ctx.Publish(this, static (b, now) => new BuildChanged(b, b._stateText) { Timestamp = now });
        }
    }

    public void SetProperty(string name, string value, string source = "Build")
    {
        name = Guard.Name(name, nameof(name));
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(source);
        var property = new PropertyValue(Guard.Text(value), Guard.Text(source));
        lock (Sync)
        {
            ThrowIfFinished("set a property of");
            var copy = new Dictionary<string, PropertyValue>(_properties, StringComparer.Ordinal) { [name] = property };
            _properties = copy;
            Volatile.Write(ref _propertiesView, copy.AsReadOnly());
            _ctx.Pipeline.MarkDirty(this);
            _ctx.Publish(this, static (b, now) => new BuildChanged(b, b._stateText) { Timestamp = now });
        }
    }

    public Task FinishAsync(BuildResult? result = null, string? stateText = null, CancellationToken cancellationToken = default)
    {
        if (result is { } r && !Enum.IsDefined(r))
        {
            throw new ArgumentOutOfRangeException(nameof(result), r, "Not a defined BuildResult value.");
        }

        long target;
        lock (Sync)
        {
            ThrowIfFinished("finish");
            CloseLocked(result, stateText is null ? null : Guard.Text(stateText), BuildResult.Cancelled, "cancelled: the build finished first");
            target = _ctx.Pipeline.MarkDirty(this);
            _ctx.Publish(this, static (b, now) => new BuildFinished(b, b._result!.Value) { Timestamp = now });

            // The flush target must cover every change made to this build, including its steps' and logs'.
            target = Math.Max(target, _ctx.Pipeline.CurrentSequence);
        }

        AfterClosed();
        return WaitDurableAsync(target, cancellationToken);
    }

    // Completes when every change up to target is committed; faults when some of this build's data was dropped.
    private async Task WaitDurableAsync(long target, CancellationToken cancellationToken)
    {
        if (_dropped is null)
        {
            await _ctx.Pipeline.WaitForAsync(target, cancellationToken).ConfigureAwait(false);
        }

        if (_dropped is { } cause)
        {
            throw new BuildStoreException($"Some of the data of {this} was rejected by the storage backend and will never be stored: {cause.Message}", cause);
        }
    }

    /// <summary>Called by the writer when a snapshot of this build or of one of its steps or logs was dropped.</summary>
    internal void RecordDrop(Exception cause) => _dropped ??= cause;

    // Caller holds Sync.
    internal void ThrowIfFinished(string action)
    {
        _ctx.ThrowIfStopped(this);
        if (_isFinished)
        {
            throw new InvalidOperationException($"Cannot {action} build {Number} of builder '{Owner.Name}': it has finished ({_result}).");
        }
    }

    // Caller holds Sync. For a change to one of the build's steps; the message is built only when it throws.
    internal void ThrowIfFinished(string action, string stepName)
    {
        _ctx.ThrowIfStopped(this);
        if (_isFinished)
        {
            throw new InvalidOperationException($"Cannot {action} step '{stepName}' of build {Number} of builder '{Owner.Name}': it has finished ({_result}).");
        }
    }

    // Caller holds Sync.
    internal void OnStepStarted(Step step, DateTimeOffset? stepEta)
    {
        _currentStep = step;
        if (stepEta is not null || _eta is not null)
        {
            _ctx.Publish((this, step, stepEta), static (s, now) => new EtaUpdated(s.Item1, s.Item1._eta, s.step, s.stepEta) { Timestamp = now });
        }
    }

    // Caller holds Sync.
    internal void OnStepFinished(Step step)
    {
        if (ReferenceEquals(_currentStep, step))
        {
            _currentStep = null;
        }
    }

    // Lost when marked so, or when it was created by an instance of this host that has since been fenced (a build
    // that finished here while the instance was paused: its last writes must not overwrite the recovery).
    internal override bool IsLost => _lost || (_initial.InstanceId is { } id && id <= (_ctx.Host.Lease?.FencedUpTo ?? 0));

    /// <summary>
    /// The build was lost (this instance was fenced; another finished it as Retry in storage): finish it in RAM as
    /// Retry, publish <see cref="BuildLost"/> then <see cref="BuildFinished"/>, and fault its durability tasks.
    /// </summary>
    internal void MarkLost(string reason, Exception cause)
    {
        lock (Sync)
        {
            if (_isFinished)
            {
                return;
            }

            _lost = true;
            RecordDrop(cause);
            CloseLocked(BuildResult.Retry, reason, BuildResult.Retry, "lost");
            _ctx.Publish(this, static (b, now) => new BuildLost(b, b._stateText) { Timestamp = now });
            _ctx.Publish(this, static (b, now) => new BuildFinished(b, BuildResult.Retry) { Timestamp = now });
        }

        AfterClosed();
    }

    // Caller holds Sync. Finishes the open steps, sets the final state (under the lock, so no mutation gets in after
    // it) and ends the build's span. A null result is the worst of the steps'; a null text is the result's name.
    private void CloseLocked(BuildResult? result, string? stateText, BuildResult openStepResult, string openStepText)
    {
        foreach (var step in _steps)
        {
            if (!step.IsFinishedLocked)
            {
                step.FinishLocked(openStepResult, openStepText);
            }
        }

        var final = result ?? BuildResults.Worst(_steps.Select(s => s.ResultLocked ?? BuildResult.Success));
        _result = final;
        _finishedAt = _ctx.Now;
        _stateText = stateText ?? final.ToString().ToLowerInvariant();
        _currentStep = null;
        _eta = null;
        _isFinished = true;
        Diagnostics.BuildStatusTelemetry.BuildFinished(this, final, _finishedAt.Value);
    }

    // Caller holds no lock: what follows a build's end outside it (its waiters, metrics, the builder's and worker's lists).
    private void AfterClosed()
    {
        _finished.TrySetResult();
        _ctx.Metrics.BuildsFinished.Add(1);
        Owner.OnBuildFinished(this);
        (_ctx.Host.FindWorkerInternal(WorkerName))?.RemoveRunning(this);
    }

    internal override void AppendTo(EntitySnapshot snapshot)
    {
        if (IsLost)
        {
            return;
        }

        snapshot.Row = _initial with
        {
            Properties = _propertiesView,
            FinishedAt = _finishedAt,
            StateText = _stateText,
            Result = _result,
        };
    }

    internal override void OnCommitted(EntitySnapshot snapshot)
    {
        if (snapshot.Row is StoredBuild committed)
        {
            _committed = committed;
        }
    }

    internal override void OnDropped(EntitySnapshot snapshot, Exception cause) => RecordDrop(cause);

    public override string ToString() => $"build {Number} of builder '{Owner.Name}'";
}
