using BuildStatus.Adapters;
using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Process;

/// <summary>A builder: its current and recent builds, pending requests, attached workers and ETA history.</summary>
internal sealed partial class Builder : PersistedEntity, IBuilder
{
    private static readonly IReadOnlyDictionary<string, PropertyValue> NoProperties = new Dictionary<string, PropertyValue>();

    private readonly HostContext _ctx;

    // Guards every field below. Never held while taking a build's lock (builds call in after releasing theirs).
    private readonly Lock _sync = new();
    private string? _description;
    private IReadOnlyList<string> _tags;
    private readonly List<Build> _current = [];
    private IReadOnlyList<IBuildStatus> _currentView = [];
    private readonly List<Build> _recent = []; // highest number first (see OnBuildFinished)
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

    internal HostContext Context => _ctx;

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

        // pending → starting before the number is allocated, so two calls cannot start one request twice.
        request?.Reserve();
        int number;
        try
        {
            if (request is not null)
            {
                await ClaimInStorageAsync(request, cancellationToken).ConfigureAwait(false);
            }

            // A fenced instance registers a new one before it starts more work.
            await _ctx.Host.WhenInstanceReady.WaitAsync(cancellationToken).ConfigureAwait(false);
            (template, number) = await AllocateNumberAsync(template, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            request?.Unreserve();
            throw;
        }

        var row = template with { Number = number };
        var build = new Build(_ctx, this, row);
        string? refusal = null;
        lock (_sync)
        {
            if (!_ctx.Host.IsRunning)
            {
                request?.Unreserve();
                refusal = "the BuildStatus host is stopping";
            }
            else if (request is not null && !request.TryMarkStarted(build))
            {
                refusal = $"build request {request.Id} was cancelled while its build was being started";
            }
            else
            {
                _current.Add(build);
                Volatile.Write(ref _currentView, _current.ToArray());
                if (request is not null)
                {
                    _pending.Remove(request);
                    Volatile.Write(ref _pendingView, _pending.ToArray());
                }
            }
        }

        if (refusal is not null)
        {
            // The number is stored: finish that build in storage so it is not left unfinished, and never show it live.
            await AbandonAsync(row, refusal).ConfigureAwait(false);
            throw new InvalidOperationException($"Cannot start a build on builder '{Name}': {refusal}. Build {number} was stored as Cancelled.");
        }

        Diagnostics.BuildStatusTelemetry.BuildStarted(build, info);
        build.PublishStarted(ExpectedDuration);
        RecomputeState();
        _ctx.Metrics.BuildsStarted.Add(1);
        (info.Worker as Worker)?.AddRunning(build);
        return build;
    }

    // With instances, the stored request is claimed for this instance first: of several hosts, exactly one starts it.
    private async Task ClaimInStorageAsync(BuildRequest request, CancellationToken cancellationToken)
    {
        if (_ctx.Host.Lease is not { } lease || _ctx.Store is not IBuildInstanceStore instances)
        {
            return;
        }

        await _ctx.Host.WhenInstanceReady.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _ctx.Pipeline.WaitForAsync(request.ChangedSequence, cancellationToken).ConfigureAwait(false);
        var me = lease.CurrentId!.Value;
        if (!await instances.ClaimRequestAsync(request.Id, me, cancellationToken).ConfigureAwait(false))
        {
            CancelRequest(request);
            throw new InvalidOperationException($"Build request {request.Id} of builder '{Name}' is no longer pending in storage: another instance claimed it, or it was cancelled or started.");
        }

        request.MarkClaimed(me);
    }

    private async Task AbandonAsync(StoredBuild row, string why)
    {
        try
        {
            await _ctx.Store.ApplyAsync(
                new WriteBatch { Builds = [row with { FinishedAt = _ctx.Now, Result = BuildResult.Cancelled, StateText = $"cancelled: {why}" }] },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Recovery finishes it as Retry on a later start.
            Log.AbandonFailed(_ctx.Logger, ex, Name, row.Number);
        }
    }

    // Allocating the number is the one storage round trip on the status path; a transient failure is retried
    // with the writer's backoff, up to MaxWriteAttempts, before StartBuildAsync gives up.
    // With instances, the build carries this instance's id and a creation id, so a retry after an ambiguous failure
    // gets the number of the build the first attempt stored.
    private async Task<(StoredBuild Template, int Number)> AllocateNumberAsync(StoredBuild template, CancellationToken cancellationToken)
    {
        template = _ctx.Host.StampCreation(template);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return (template, await _ctx.Store.CreateBuildAsync(template, cancellationToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (InstanceFencedException fenced) when (_ctx.Host.Lease is { } lease && attempt < _ctx.Options.MaxWriteAttempts)
            {
                // This instance was claimed while it was paused: register a new one, then create the build as that.
                await lease.OnFencedAsync(fenced).WaitAsync(cancellationToken).ConfigureAwait(false);
                template = _ctx.Host.StampCreation(template);
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
#pragma warning disable CA2208 // The public parameter is StartBuildAsync's 'info'; this helper takes one of its properties.
            throw new ArgumentException($"BuildStartInfo.Request does not belong to builder '{Name}'.", "info");
#pragma warning restore CA2208
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
        var stamps = CopyList(info.SourceStamps, nameof(info), nameof(info.SourceStamps), static s => s with
        {
            Repository = Guard.Text(s.Repository ?? throw new ArgumentException("A source stamp has no repository.", nameof(info))),
            Branch = Guard.OptionalText(s.Branch),
            Revision = Guard.OptionalText(s.Revision),
            Project = Guard.OptionalText(s.Project),
            Codebase = Guard.OptionalText(s.Codebase),
        });
        var changes = CopyList(info.Changes, nameof(info), nameof(info.Changes), static c => c with
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
            if (value is null)
            {
                throw new ArgumentNullException(nameof(info), $"BuildStartInfo.Properties['{name}'] is null.");
            }

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

    // Every problem with a BuildStartInfo is reported with ParamName "info" (the parameter of StartBuildAsync) and a
    // message naming the property, so equivalent errors look alike.
    private static List<T> CopyList<T>(IReadOnlyList<T>? source, string paramName, string property, Func<T, T> clean)
        where T : class
    {
        if (source is null)
        {
            throw new ArgumentNullException(paramName, $"BuildStartInfo.{property} is null.");
        }

        var list = new List<T>(source.Count);
        foreach (var item in source)
        {
            list.Add(clean(item ?? throw new ArgumentException($"BuildStartInfo.{property} contains null.", paramName)));
        }

        return list;
    }

    public IBuildRequest SubmitRequest(string? reason = null, IEnumerable<SourceStamp>? sourceStamps = null, IReadOnlyDictionary<string, PropertyValue>? properties = null, int priority = 0)
    {
        _ctx.ThrowIfStopped(this);
        var stamps = sourceStamps?.Select(s => s ?? throw new ArgumentException("sourceStamps contains null.", nameof(sourceStamps))).ToArray() ?? [];
        var props = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        foreach (var (key, value) in properties ?? NoProperties)
        {
            props[Guard.Name(key, nameof(properties))] = value ?? throw new ArgumentException($"Property '{key}' is null.", nameof(properties));
        }

        var request = new BuildRequest(this, _ctx.Host.NextRequestId(), Guard.OptionalText(reason), _ctx.Now, stamps, props, priority, persisted: _ctx.Host.Lease is not null);
        lock (_sync)
        {
            _pending.Add(request);
            Volatile.Write(ref _pendingView, _pending.ToArray());
            _ctx.Publish(request, static (r, now) => new BuildRequested(r) { Timestamp = now });
        }

        request.Submit();
        return request;
    }

    /// <summary>
    /// Brings the pending requests in line with storage (with instances): adds the pending requests other instances (or
    /// an earlier run) stored, and drops stored ones that are no longer pending there (claimed, started or cancelled
    /// elsewhere). Caller holds no lock.
    /// </summary>
    internal void SyncRequests(IReadOnlyCollection<StoredBuildRequest> pending)
    {
        var ids = pending.Select(r => r.Id).ToHashSet();
        List<BuildRequest>? added = null;
        lock (_sync)
        {
            var changed = _pending.RemoveAll(r => r.IsStored && !r.IsStarting && !ids.Contains(r.Id)) > 0;
            foreach (var row in pending)
            {
                if (!_pending.Any(r => r.Id == row.Id))
                {
                    var request = BuildRequest.FromStored(this, row);
                    _pending.Add(request);
                    (added ??= []).Add(request);
                    changed = true;
                }
            }

            if (changed)
            {
                _pending.Sort(static (x, y) => y.Priority != x.Priority ? y.Priority.CompareTo(x.Priority) : x.SubmittedAt.CompareTo(y.SubmittedAt));
                Volatile.Write(ref _pendingView, _pending.ToArray());
            }

            foreach (var request in added ?? [])
            {
                _ctx.Publish(request, static (r, now) => new BuildRequested(r) { Timestamp = now });
            }
        }
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
        _ctx.ThrowIfStopped(this);
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
        _ctx.ThrowIfStopped(this);
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
        // Read the build (which takes its lock) before taking the builder's: the builder lock is never held while
        // taking a build's.
        var number = build.Number;
        List<(string Name, TimeSpan Duration)>? stepDurations = null;
        TimeSpan duration = default;
        if (build.Result is { } result && BuildResults.IsPassing(result) && build.FinishedAt is { } finished)
        {
            duration = finished - build.StartedAt;
            stepDurations = [];
            foreach (var step in build.Steps)
            {
                if (step.StartedAt is { } s && step.FinishedAt is { } f)
                {
                    stepDurations.Add((step.Name, f - s));
                }
            }
        }

        List<Build>? evicted = null;
        lock (_sync)
        {
            _current.Remove(build);
            Volatile.Write(ref _currentView, _current.ToArray());
            var keep = _ctx.Options.RecentBuildsPerBuilder;
            if (keep <= 0)
            {
                evicted = [build];
            }
            else
            {
                // Newest first by number, not by finish time, as history's "last finished build" is: with builds
                // running concurrently, a lower number may finish later and goes after the higher ones.
                var at = 0;
                while (at < _recent.Count && _recent[at].Number > number)
                {
                    at++;
                }

                _recent.Insert(at, build);
                if (_recent.Count > keep)
                {
                    evicted = _recent.GetRange(keep, _recent.Count - keep);
                    _recent.RemoveRange(keep, _recent.Count - keep);
                }
            }

            Volatile.Write(ref _recentView, _recent.ToArray());
            if (stepDurations is not null)
            {
                RecordDurations(duration, stepDurations);
            }
        }

        RecomputeState();

        // The builds that just left RAM must not stay alive through events a slow subscriber has not taken yet.
        if (evicted is not null)
        {
            foreach (var old in evicted)
            {
                DetachedStatus.Detach(_ctx, old);
            }
        }
    }

    /// <summary>Drops a recent build that retention deleted from storage. Caller holds no lock.</summary>
    internal void ForgetRecent(IBuildStatus build)
    {
        bool removed;
        lock (_sync)
        {
            removed = _recent.Remove((Build)build);
            if (removed)
            {
                Volatile.Write(ref _recentView, _recent.ToArray());
            }
        }

        if (removed)
        {
            DetachedStatus.Detach(_ctx, (Build)build);
        }
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
    private void RecordDurations(TimeSpan duration, List<(string Name, TimeSpan Duration)> steps)
    {
        Push(_durations, duration);
        foreach (var (name, stepDuration) in steps)
        {
            Push(StepQueue(name), stepDuration);
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

    internal override void AppendTo(EntitySnapshot snapshot)
        => snapshot.Row = new StoredBuilder(Name, _description, _tags);

    public override string ToString() => $"builder '{Name}'";

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Could not store build {Number} of builder '{Builder}' as Cancelled after its start was refused; recovery will finish it.")]
        public static partial void AbandonFailed(ILogger logger, Exception exception, string builder, int number);
    }
}
