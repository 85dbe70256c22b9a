using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;

namespace BuildStatus.Process;

/// <summary>A builder: its current and recent builds, pending requests, attached workers and ETA history.</summary>
internal sealed class Builder : PersistedEntity, IBuilder
{
    private static readonly IReadOnlyDictionary<string, PropertyValue> NoProperties = new Dictionary<string, PropertyValue>();

    private readonly HostContext _ctx;

    // Guards every field below. Never held while taking a build's lock (builds call in after releasing theirs).
    private readonly Lock _sync = new();
    private string? _description;
    private IReadOnlyList<string> _tags;
    private readonly List<Build> _current = [];
    private IReadOnlyList<IBuildStatus> _currentView = [];
    private readonly List<Build> _recent = []; // newest first
    private IReadOnlyList<IBuildStatus> _recentView = [];
    private readonly List<BuildRequest> _pending = [];
    private IReadOnlyList<IBuildRequestStatus> _pendingView = [];
    private readonly List<IWorkerStatus> _workers = [];
    private IReadOnlyList<IWorkerStatus> _workersView = [];
    private BuilderState _state = BuilderState.Idle;
    private readonly Queue<TimeSpan> _durations = new();
    private readonly Dictionary<string, Queue<TimeSpan>> _stepDurations = new(StringComparer.Ordinal);
    private TimeSpan? _expected;

    public Builder(HostContext ctx, string name, string? description, IReadOnlyList<string> tags)
    {
        _ctx = ctx;
        Name = name;
        _description = description;
        _tags = tags;
    }

    public string Name { get; }

    internal override Lock SyncRoot => _sync;

    public string? Description
    {
        get
        {
            lock (_sync)
            {
                return _description;
            }
        }
    }

    public IReadOnlyList<string> Tags => Volatile.Read(ref _tags);

    public BuilderState State
    {
        get
        {
            lock (_sync)
            {
                return _state;
            }
        }
    }

    public IReadOnlyList<IBuildStatus> CurrentBuilds => Volatile.Read(ref _currentView);

    public IReadOnlyList<IBuildRequestStatus> PendingRequests => Volatile.Read(ref _pendingView);

    public IBuildStatus? LastFinishedBuild
    {
        get
        {
            var recent = Volatile.Read(ref _recentView);
            return recent.Count > 0 ? recent[0] : null;
        }
    }

    public IReadOnlyList<IBuildStatus> RecentBuilds => Volatile.Read(ref _recentView);

    public IReadOnlyList<IWorkerStatus> Workers => Volatile.Read(ref _workersView);

    public TimeSpan? ExpectedDuration
    {
        get
        {
            lock (_sync)
            {
                return _expected;
            }
        }
    }

    public IPersistentBuilder Persistent => new PersistentBuilder(new StoredBuilder(Name, Description, Tags), _ctx);

    public IBuildStatus? GetBuild(int number)
    {
        foreach (var build in CurrentBuilds)
        {
            if (build.Number == number)
            {
                return build;
            }
        }

        foreach (var build in RecentBuilds)
        {
            if (build.Number == number)
            {
                return build;
            }
        }

        return null;
    }

    internal Build? GetLiveBuild(int number) => GetBuild(number) as Build;

    internal bool IsOwnedBy(HostContext ctx) => ReferenceEquals(_ctx, ctx);

    internal void Update(string? description, IReadOnlyList<string>? tags)
    {
        lock (_sync)
        {
            _description = description;
            if (tags is not null)
            {
                Volatile.Write(ref _tags, tags);
            }

            _ctx.Pipeline.MarkDirty(this);
        }
    }

    internal void Register()
    {
        lock (_sync)
        {
            _ctx.Pipeline.MarkDirty(this);
            _ctx.Publish(this, static (b, now) => new BuilderAdded(b) { Timestamp = now });
        }
    }

    public async Task<IBuild> StartBuildAsync(BuildStartInfo? info = null, CancellationToken cancellationToken = default)
    {
        _ctx.Host.EnsureRunning();
        info ??= new BuildStartInfo();
        var request = ValidateRequest(info.Request);
        var template = CreateTemplate(info);

        var number = await AllocateNumberAsync(template, cancellationToken).ConfigureAwait(false);
        var build = new Build(_ctx, this, template with { Number = number });
        Diagnostics.BuildStatusTelemetry.BuildStarted(build, info);
        lock (_sync)
        {
            _current.Add(build);
            Volatile.Write(ref _currentView, _current.ToArray());
            if (request is not null)
            {
                request.MarkStarted(build);
                _pending.Remove(request);
                Volatile.Write(ref _pendingView, _pending.ToArray());
            }
        }

        build.PublishStarted(ExpectedDuration);
        RecomputeState();
        _ctx.Metrics.BuildsStarted.Add(1);
        (info.Worker as Worker)?.AddRunning(build);
        return build;
    }

    // Allocating the number is the one storage round trip on the status path; a transient failure is retried
    // with the writer's backoff, up to MaxWriteAttempts, before StartBuildAsync gives up.
    private async Task<int> AllocateNumberAsync(StoredBuild template, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _ctx.Store.CreateBuildAsync(template, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is not ArgumentException && attempt < _ctx.Options.MaxWriteAttempts)
            {
                _ctx.Metrics.Retries.Add(1);
                await Task.Delay(_ctx.Pipeline.RetryDelay(attempt), _ctx.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not BuildStoreException and not ArgumentException)
            {
                throw new BuildStoreException($"Storage could not allocate a build number for builder '{Name}' after {attempt} attempts: {ex.Message}", ex);
            }
        }
    }

    private BuildRequest? ValidateRequest(IBuildRequestStatus? request)
    {
        if (request is null)
        {
            return null;
        }

        if (request is not BuildRequest own || !ReferenceEquals(own.Builder, this))
        {
            throw new ArgumentException($"The request does not belong to builder '{Name}'.", nameof(request));
        }

        if (own.IsCancelled)
        {
            throw new InvalidOperationException($"Build request {own.Id} of builder '{Name}' was cancelled.");
        }

        if (own.Build is not null)
        {
            throw new InvalidOperationException($"Build request {own.Id} of builder '{Name}' already started build {own.Build.Number}.");
        }

        return own;
    }

    private StoredBuild CreateTemplate(BuildStartInfo info)
    {
        var stamps = CopyList(info.SourceStamps, nameof(info.SourceStamps), static s => s with
        {
            Repository = Guard.Text(s.Repository ?? throw new ArgumentException("A source stamp has no repository.", nameof(info))),
            Branch = Guard.OptionalText(s.Branch),
            Revision = Guard.OptionalText(s.Revision),
            Project = Guard.OptionalText(s.Project),
            Codebase = Guard.OptionalText(s.Codebase),
        });
        var changes = CopyList(info.Changes, nameof(info.Changes), static c => c with
        {
            Revision = Guard.Text(c.Revision ?? throw new ArgumentException("A change has no revision.", nameof(info))),
            Author = Guard.Text(c.Author ?? throw new ArgumentException("A change has no author.", nameof(info))),
            Comments = Guard.OptionalText(c.Comments),
        });
        var users = new List<string>();
        foreach (var user in info.ResponsibleUsers ?? throw new ArgumentNullException(nameof(info), "ResponsibleUsers is null."))
        {
            var clean = Guard.Text(user ?? throw new ArgumentException("A responsible user is null.", nameof(info)));
            if (!users.Contains(clean, StringComparer.Ordinal))
            {
                users.Add(clean);
            }
        }

        foreach (var change in changes)
        {
            if (!users.Contains(change.Author, StringComparer.Ordinal))
            {
                users.Add(change.Author);
            }
        }

        var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        foreach (var (key, value) in info.Properties ?? NoProperties)
        {
            var name = Guard.Name(key, nameof(info));
            ArgumentNullException.ThrowIfNull(value, nameof(info));
            properties[name] = new PropertyValue(Guard.Text(value.Value ?? string.Empty), Guard.Text(value.Source ?? string.Empty));
        }

        if (info.Request is not null)
        {
            foreach (var (key, value) in info.Request.Properties)
            {
                properties.TryAdd(key, value);
            }
        }

        return new StoredBuild(
            Name,
            0,
            _ctx.Options.HostName,
            Guard.OptionalText(info.Reason ?? info.Request?.Reason),
            stamps.Count == 0 && info.Request is not null ? info.Request.SourceStamps : stamps,
            changes,
            users,
            info.Worker?.Name,
            properties.AsReadOnly(),
            _ctx.Now,
            null,
            "building",
            null);
    }

    private static List<T> CopyList<T>(IReadOnlyList<T>? source, string name, Func<T, T> clean)
        where T : class
    {
        if (source is null)
        {
            throw new ArgumentNullException(name);
        }

        var list = new List<T>(source.Count);
        foreach (var item in source)
        {
            list.Add(clean(item ?? throw new ArgumentException($"{name} contains null.", name)));
        }

        return list;
    }

    public IBuildRequest SubmitRequest(string? reason = null, IEnumerable<SourceStamp>? sourceStamps = null, IReadOnlyDictionary<string, PropertyValue>? properties = null)
    {
        var stamps = sourceStamps?.Select(s => s ?? throw new ArgumentException("sourceStamps contains null.", nameof(sourceStamps))).ToArray() ?? [];
        var props = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        foreach (var (key, value) in properties ?? NoProperties)
        {
            props[Guard.Name(key, nameof(properties))] = value ?? throw new ArgumentException($"Property '{key}' is null.", nameof(properties));
        }

        var request = new BuildRequest(this, _ctx.Host.NextRequestId(), Guard.OptionalText(reason), _ctx.Now, stamps, props);
        lock (_sync)
        {
            _pending.Add(request);
            Volatile.Write(ref _pendingView, _pending.ToArray());
            _ctx.Publish(request, static (r, now) => new BuildRequested(r) { Timestamp = now });
        }

        return request;
    }

    internal void CancelRequest(BuildRequest request)
    {
        lock (_sync)
        {
            if (_pending.Remove(request))
            {
                Volatile.Write(ref _pendingView, _pending.ToArray());
            }
        }
    }

    public void AttachWorker(IWorkerStatus worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        lock (_sync)
        {
            if (_workers.Contains(worker))
            {
                return;
            }

            _workers.Add(worker);
            Volatile.Write(ref _workersView, _workers.ToArray());
        }

        RecomputeState();
    }

    public void DetachWorker(IWorkerStatus worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        lock (_sync)
        {
            if (!_workers.Remove(worker))
            {
                return;
            }

            Volatile.Write(ref _workersView, _workers.ToArray());
        }

        RecomputeState();
    }

    internal bool HasWorker(IWorkerStatus worker) => Workers.Contains(worker);

    /// <summary>Called by a build after it finished, with no build lock held.</summary>
    internal void OnBuildFinished(Build build)
    {
        lock (_sync)
        {
            _current.Remove(build);
            Volatile.Write(ref _currentView, _current.ToArray());
            var keep = _ctx.Options.RecentBuildsPerBuilder;
            if (keep > 0)
            {
                _recent.Insert(0, build);
                if (_recent.Count > keep)
                {
                    _recent.RemoveRange(keep, _recent.Count - keep);
                }
            }

            Volatile.Write(ref _recentView, _recent.ToArray());
            if (build.Result is { } result && BuildResults.IsPassing(result) && build.FinishedAt is { } finished)
            {
                RecordDurations(finished - build.StartedAt, build.Steps);
            }
        }

        RecomputeState();
    }

    /// <summary>Seeds ETA history from stored builds (oldest first). Caller holds no lock.</summary>
    internal void SeedDurations(IEnumerable<(TimeSpan Duration, IReadOnlyList<(string Name, TimeSpan Duration)> Steps)> history)
    {
        lock (_sync)
        {
            foreach (var (duration, steps) in history)
            {
                Push(_durations, duration);
                foreach (var (name, stepDuration) in steps)
                {
                    Push(StepQueue(name), stepDuration);
                }
            }

            _expected = Average(_durations);
        }
    }

    // Caller holds _sync.
    private void RecordDurations(TimeSpan duration, IReadOnlyList<IStepStatus> steps)
    {
        Push(_durations, duration);
        foreach (var step in steps)
        {
            if (step.StartedAt is { } s && step.FinishedAt is { } f)
            {
                Push(StepQueue(step.Name), f - s);
            }
        }

        _expected = Average(_durations);
    }

    private Queue<TimeSpan> StepQueue(string name)
    {
        if (!_stepDurations.TryGetValue(name, out var queue))
        {
            // Bound the number of distinct step names remembered, so odd step names cannot grow memory.
            if (_stepDurations.Count >= 1000)
            {
                _stepDurations.Clear();
            }

            queue = new Queue<TimeSpan>();
            _stepDurations[name] = queue;
        }

        return queue;
    }

    private void Push(Queue<TimeSpan> queue, TimeSpan value)
    {
        queue.Enqueue(value);
        while (queue.Count > Math.Max(1, _ctx.Options.EtaHistorySize))
        {
            queue.Dequeue();
        }
    }

    private static TimeSpan? Average(Queue<TimeSpan> queue)
        => queue.Count == 0 ? null : TimeSpan.FromTicks((long)queue.Average(d => d.Ticks));

    internal TimeSpan? ExpectedStepDuration(string stepName)
    {
        lock (_sync)
        {
            return _stepDurations.TryGetValue(stepName, out var queue) ? Average(queue) : null;
        }
    }

    internal void RecomputeState()
    {
        lock (_sync)
        {
            BuilderState state;
            if (_current.Count > 0)
            {
                state = BuilderState.Building;
            }
            else if (_workers.Count > 0 && !_workers.Any(w => w.IsConnected))
            {
                state = BuilderState.Offline;
            }
            else
            {
                state = BuilderState.Idle;
            }

            if (state == _state)
            {
                return;
            }

            _state = state;
            _ctx.Publish((this, state), static (s, now) => new BuilderStateChanged(s.Item1, s.state) { Timestamp = now });
        }
    }

    internal override void AppendTo(BatchBuilder batch)
        => batch.Add(this, new StoredBuilder(Name, _description, _tags));

    public override string ToString() => $"builder '{Name}'";
}
