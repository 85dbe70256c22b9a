using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using BuildStatus.Adapters;
using BuildStatus.Events;
using BuildStatus.Hosting;
using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BuildStatus.Process;

/// <summary>The root process object: registries of builders and workers, lifecycle, pipeline, events.</summary>
internal sealed partial class BuildStatusHost : IBuildStatusHost, IDisposable
{
    private readonly HostContext _ctx;
    private readonly ILogger _logger;
    private readonly bool _hasStore;

    // Set once by the constructor: why the configured options are invalid, or null. Creating the host never throws for
    // them (it then runs its parts on the defaults and can never start); StartAsync throws them, as documented.
    private readonly IReadOnlyList<string>? _invalidOptions;

    // Registries: the dictionaries are concurrent; _registryLock serializes additions so the ordered views
    // (replaced, never mutated) match registration order.
    private readonly Lock _registryLock = new();
    private readonly ConcurrentDictionary<string, Builder> _builders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Worker> _workers = new(StringComparer.Ordinal);
    private IReadOnlyList<IBuilderStatus> _buildersView = [];
    private IReadOnlyList<IWorkerStatus> _workersView = [];
    private long _nextRequestId;

    // Lifecycle: _stateLock guards the transitions' tasks, each created once, so start, stop and dispose are
    // idempotent and safe to call concurrently. _phase is written under _stateLock (or by the transition's own task)
    // and read anywhere.
    private readonly Lock _stateLock = new();
    private Task? _startTask;
    private Task? _stopTask;
    private Task? _disposeTask;
    private volatile int _phase; // PhaseNew → PhaseRunning → PhaseDraining → PhaseStopped → PhaseDisposed
    private const int PhaseNew = 0;
    private const int PhaseRunning = 1;
    private const int PhaseDraining = 2;
    private const int PhaseStopped = 3;
    private const int PhaseDisposed = 4;

    // Set by StartCoreAsync (before the phase turns running) when the store has instances; read anywhere after.
    private volatile InstanceLease? _lease;

    // Set once while starting (before the phase is Running), stopped by the stop: other hosts' events.
    private OtherHostsRelay? _relay;

    // Set by StartCoreAsync before the janitor starts; cancelled by the stop.
    private CancellationTokenSource? _janitorStop;
    private Task? _janitor;
    private Task? _etaSeed;

    public BuildStatusHost(IOptions<BuildStatusOptions> options, IEnumerable<IBuildStore> stores, TimeProvider? time = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stores);
        var opts = ReadOptions(options, out _invalidOptions);
        var store = stores.LastOrDefault();
        _hasStore = store is not null;
        time ??= TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("BuildStatus");
        var metrics = new BuildStatusMetrics(meterFactory, opts.HostName);
        var hub = new EventHub(opts.SubscriberBufferCapacity, _logger, Math.Max(1, opts.SubscriberBufferBytes));
        store ??= new UnusableStore();
        var pipeline = new WritePipeline(store, opts, time, () => opts.Randomizer(), _logger, metrics);
        _ctx = new HostContext(this, opts, store, time, hub, pipeline, metrics, _logger);
        HistoryImpl = new BuildHistory(_ctx);
        AdapterImpl = new StatusAdapter(_ctx);
        metrics.Observe(() => pipeline.QueueLength, () => pipeline.PendingBytes, () => hub.TotalDropped);
        metrics.ObserveStatus(this);
    }

    /// <summary>
    /// Returns the configured options, or the defaults when they are invalid (with <paramref name="failures"/> saying
    /// why): the options' validator makes <see cref="IOptions{TOptions}.Value"/> throw, and the host's parts cannot be
    /// built on invalid values, but the error belongs to <see cref="StartAsync"/>.
    /// </summary>
    private static BuildStatusOptions ReadOptions(IOptions<BuildStatusOptions> options, out IReadOnlyList<string>? failures)
    {
        BuildStatusOptions value;
        try
        {
            value = options.Value;
        }
        catch (OptionsValidationException invalid)
        {
            failures = [.. invalid.Failures];
            return new BuildStatusOptions();
        }

        var found = BuildStatusOptionsValidator.Check(value);
        failures = found.Count > 0 ? found : null;
        return found.Count > 0 ? new BuildStatusOptions() : value;
    }

    internal BuildHistory HistoryImpl { get; }

    internal StatusAdapter AdapterImpl { get; }

    internal WritePipeline Pipeline => _ctx.Pipeline;

    internal EventHub Hub => _ctx.Hub;

    public string HostName => _ctx.Options.HostName;

    public IBuildHistory History => HistoryImpl;

    public IStatusAdapter Adapter => AdapterImpl;

    public bool IsRunning => _phase == PhaseRunning;

    public IReadOnlyList<StoredInstance> Instances => _lease?.LiveInstances ?? [];

    public long? InstanceId => _lease?.CurrentId;

    internal InstanceLease? Lease => _lease;

    /// <summary>Gets the relay of other hosts' events, or <see langword="null"/> (no event feed); for tests.</summary>
    internal OtherHostsRelay? Relay => _relay;

    /// <summary>Completes when this host has a registered, unfenced instance (at once without instances).</summary>
    internal Task WhenInstanceReady => _lease?.WhenReady ?? Task.CompletedTask;

    /// <summary>Gets whether the host has stopped (or been disposed): no mutation is accepted any more.</summary>
    internal bool IsStopped => _phase >= PhaseStopped;

    public IReadOnlyList<IBuilderStatus> Builders => Volatile.Read(ref _buildersView);

    public IReadOnlyList<IWorkerStatus> Workers => Volatile.Read(ref _workersView);

    public IReadOnlyList<IBuildStatus> CurrentBuilds
    {
        get
        {
            var all = new List<IBuildStatus>();
            foreach (var builder in Builders)
            {
                all.AddRange(builder.CurrentBuilds);
            }

            return all;
        }
    }

    public IBuilderStatus? GetBuilder(string name) => FindBuilder(name);

    public IWorkerStatus? GetWorker(string name) => FindWorker(name);

    public IBuilder? FindBuilder(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _builders.GetValueOrDefault(name);
    }

    public IWorker? FindWorker(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _workers.GetValueOrDefault(name);
    }

    internal Builder? FindBuilderInternal(string name) => _builders.GetValueOrDefault(name);

    internal Worker? FindWorkerInternal(string? name) => name is null ? null : _workers.GetValueOrDefault(name);

    public IBuilder AddBuilder(string name, string? description = null, IEnumerable<string>? tags = null)
    {
        name = Guard.Name(name, nameof(name));
        ThrowIfDisposed();
        ThrowIfStopped($"add builder '{name}'");
        var tagList = tags?.Select(t => Guard.Name(t, nameof(tags))).ToArray();
        var cleanDescription = Guard.OptionalText(description);
        lock (_registryLock)
        {
            if (_builders.TryGetValue(name, out var existing))
            {
                existing.Update(cleanDescription, tagList);
                return existing;
            }

            var builder = new Builder(_ctx, name, cleanDescription, tagList ?? []);
            _builders[name] = builder;
            Volatile.Write(ref _buildersView, [.. _buildersView, builder]);
            builder.Register();
            if (IsRunning)
            {
                _ = SeedEtaAsync([builder], CancellationToken.None);
            }

            return builder;
        }
    }

    public IWorker AddWorker(string name)
    {
        name = Guard.Name(name, nameof(name));
        ThrowIfDisposed();
        ThrowIfStopped($"add worker '{name}'");
        lock (_registryLock)
        {
            if (_workers.TryGetValue(name, out var existing))
            {
                return existing;
            }

            var worker = new Worker(_ctx, name);
            _workers[name] = worker;
            Volatile.Write(ref _workersView, [.. _workersView, worker]);
            worker.Register();
            return worker;
        }
    }

    public Task<IBuild> StartBuildAsync(string builderName, BuildStartInfo? info = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builderName);
        ThrowIfDisposed();
        var builder = FindBuilderInternal(builderName)
            ?? throw new InvalidOperationException($"Cannot start a build on builder '{builderName}': no builder with that name is registered (registered: {string.Join(", ", _builders.Keys.Order(StringComparer.Ordinal))}).");
        return builder.StartBuildAsync(info, cancellationToken);
    }

    // With instances the id carries the instance (ids are never reused), so it is unique in the history.
    internal long NextRequestId()
        => (_lease?.CurrentId is { } id ? id << 32 : 0) | Interlocked.Increment(ref _nextRequestId);

    /// <summary>Brings every builder's pending requests in line with storage (with instances).</summary>
    internal async Task SyncRequestsAsync(IBuildInstanceStore instances, CancellationToken cancellationToken)
    {
        var pending = await instances.GetRequestsAsync(null, BuildRequestState.Pending, cancellationToken).ConfigureAwait(false);
        var byBuilder = pending.GroupBy(r => r.BuilderName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        foreach (var builder in _builders.Values)
        {
            builder.SyncRequests(byBuilder.TryGetValue(builder.Name, out var rows) ? rows : []);
        }
    }

    // Interlocked: numbers this host's build creations, for their creation ids.
    private long _creations;

    /// <summary>Marks a build about to be created with this host's instance and a creation id unique to it (instance ids are never reused).</summary>
    internal StoredBuild StampCreation(StoredBuild template)
        => _lease?.CurrentId is { } id
            ? template with { InstanceId = id, CreationId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{id}:{Interlocked.Increment(ref _creations)}") }
            : template;

    internal void OnWorkerChanged(Worker worker)
    {
        foreach (var builder in _builders.Values)
        {
            if (builder.HasWorker(worker))
            {
                builder.RecomputeState();
            }
        }
    }

    internal void EnsureRunning()
    {
        switch (_phase)
        {
            case PhaseRunning:
                return;
            case PhaseNew:
                throw new InvalidOperationException("The BuildStatus host has not been started: call IBuildStatusHost.StartAsync (the hosted service does this under the Generic Host) before starting builds.");
            case PhaseDraining:
                throw new InvalidOperationException("The BuildStatus host is stopping; new builds can no longer be started (running builds may still finish).");
            case PhaseStopped:
                throw new InvalidOperationException("The BuildStatus host has stopped; builds can no longer be started.");
            default:
                throw new ObjectDisposedException(nameof(IBuildStatusHost));
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_phase == PhaseDisposed, this);

    /// <summary>Throws once the host has stopped: a registration then would never be stored.</summary>
    /// <param name="action">What was attempted, for the message.</param>
    private void ThrowIfStopped(string action)
    {
        if (IsStopped)
        {
            throw new InvalidOperationException($"Cannot {action}: the BuildStatus host has stopped, so nothing more can be recorded.");
        }
    }

    public IStatusSubscription Subscribe(IStatusReceiver receiver, StatusEventFilter? filter = null)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ThrowIfDisposed();
        return _ctx.Hub.Subscribe(receiver, filter);
    }

    public IAsyncEnumerable<StatusEvent> WatchAsync(StatusEventFilter? filter = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _ctx.Hub.WatchAsync(filter, cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        Task start;
        lock (_stateLock)
        {
            switch (_phase)
            {
                case PhaseRunning:
                    return Task.CompletedTask;
                case PhaseDraining or PhaseStopped:
                    throw new InvalidOperationException("The BuildStatus host was stopped and cannot be started again; create a new one.");
                case PhaseDisposed:
                    throw new ObjectDisposedException(nameof(IBuildStatusHost));
            }

            start = _startTask ??= StartCoreAsync(cancellationToken);
        }

        return start;
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            if (!_hasStore)
            {
                throw new InvalidOperationException(
                    "No BuildStatus storage backend is configured. Choose one in AddBuildStatus, e.g. services.AddBuildStatus(b => b.UseSqlite(\"Data Source=builds.db\")) or b.UseInMemoryStorage().");
            }

            var failures = _invalidOptions ?? BuildStatusOptionsValidator.Check(_ctx.Options);
            if (failures.Count > 0)
            {
                throw new OptionsValidationException(Options.DefaultName, typeof(BuildStatusOptions), failures);
            }

            await _ctx.Store.InitializeAsync(cancellationToken).ConfigureAwait(false);

            // Builders stored by an earlier run are known again (the configuration may re-add them: AddBuilder of a
            // known builder updates its description and tags and keeps its history).
            foreach (var stored in await _ctx.Store.GetBuildersAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!_builders.ContainsKey(stored.Name))
                {
                    AddBuilder(stored.Name, stored.Description, stored.Tags);
                }
            }

            if (_ctx.Store is IBuildInstanceStore { SupportsInstances: true } instances)
            {
                var lease = new InstanceLease(instances, this, _ctx);
                await lease.RegisterAsync(cancellationToken).ConfigureAwait(false);
                _ctx.Pipeline.OnFenced = lease.OnFencedAsync;
                _lease = lease;
                if (_ctx.Options.RecoverOnStart)
                {
                    await lease.RecoverDeadAsync(cancellationToken).ConfigureAwait(false);
                }

                await SyncRequestsAsync(instances, cancellationToken).ConfigureAwait(false);
                if (_ctx.Store is IBuildEventFeed { SupportsEvents: true } feed)
                {
                    // Other hosts' events from now on: the relay starts at the newest sequence before the host runs.
                    _relay = new OtherHostsRelay(feed, _ctx, AdapterImpl, () => _lease?.CurrentId ?? 0);
                    await _relay.StartAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            else if (_ctx.Options.RecoverOnStart)
            {
                await RecoverAsync(cancellationToken).ConfigureAwait(false);
            }

            lock (_stateLock)
            {
                if (_phase != PhaseNew)
                {
                    // Stopped or disposed while starting: stay stopped.
                    throw new InvalidOperationException("The BuildStatus host was stopped while it was starting.");
                }

                _ctx.Pipeline.Start();
                _janitorStop = new CancellationTokenSource();
                _phase = PhaseRunning;
            }

            _lease?.Start();
            if (_ctx.Options.Retention.IsEnabled)
            {
                _janitor = Task.Run(() => RunJanitorAsync(_janitorStop.Token), CancellationToken.None);
            }

            _etaSeed = SeedEtaAsync(_builders.Values.ToArray(), _janitorStop.Token);
            Log.Started(_logger, HostName);
        }
        catch
        {
            if (_relay is { } relay)
            {
                _relay = null;
                await relay.DisposeAsync().ConfigureAwait(false);
            }

            lock (_stateLock)
            {
                // A failed start can be tried again.
                _startTask = null;
            }

            throw;
        }
    }

    /// <summary>Finishes the builds a previous run of this host (by <see cref="BuildStatusOptions.HostName"/>) left
    /// unfinished: the recovery of a store without instances.</summary>
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var text = $"interrupted: host '{HostName}' stopped before the build finished";
        var unfinished = await _ctx.Store.GetUnfinishedBuildsAsync(HostName, cancellationToken).ConfigureAwait(false);
        foreach (var build in unfinished)
        {
            await FinishInterruptedAsync(build, text, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Finishes a stored, unfinished build as Retry with its open steps and logs, written as <paramref name="instanceId"/>.</summary>
    internal async Task FinishInterruptedAsync(StoredBuild build, string text, long? instanceId, CancellationToken cancellationToken)
    {
        var store = _ctx.Store;
        var now = _ctx.Now;
        var steps = new List<StoredStep>();
        var logs = new List<StoredLog>();
        foreach (var step in await store.GetStepsAsync(build.Key, cancellationToken).ConfigureAwait(false))
        {
            foreach (var log in await store.GetLogsAsync(step.Key, cancellationToken).ConfigureAwait(false))
            {
                if (!log.IsFinished)
                {
                    logs.Add(log with { IsFinished = true });
                }
            }

            if (!step.IsFinished)
            {
                steps.Add(step with { StartedAt = step.StartedAt ?? now, FinishedAt = now, Result = BuildResult.Retry, StateText = "interrupted" });
            }
        }

        await store.ApplyAsync(
            new WriteBatch
            {
                InstanceId = instanceId,
                Builds = [build with { FinishedAt = now, Result = BuildResult.Retry, StateText = text }],
                Steps = steps,
                Logs = logs,
            },
            cancellationToken).ConfigureAwait(false);
        Diagnostics.BuildStatusTelemetry.BuildRecovered(_ctx, build, steps, now, text);
        Log.Recovered(_logger, build.BuilderName, build.Number);
    }

    /// <summary>This host's instance was fenced: every live build is lost (another instance finished it).</summary>
    internal void LoseLiveBuilds(string reason, Exception cause)
    {
        foreach (var build in CurrentBuilds)
        {
            (build as Build)?.MarkLost(reason, cause);
        }
    }

    private async Task SeedEtaAsync(IReadOnlyList<Builder> builders, CancellationToken cancellationToken)
    {
        var size = Math.Max(1, _ctx.Options.EtaHistorySize);
        foreach (var builder in builders)
        {
            try
            {
                var builds = await _ctx.Store.QueryBuildsAsync(
                    new BuildQuery(builder.Name) { Results = new HashSet<BuildResult> { BuildResult.Success, BuildResult.Warnings }, Limit = size },
                    cancellationToken).ConfigureAwait(false);
                var history = new List<(TimeSpan, IReadOnlyList<(string, TimeSpan)>)>();
                foreach (var build in builds.Reverse())
                {
                    var steps = await _ctx.Store.GetStepsAsync(build.Key, cancellationToken).ConfigureAwait(false);
                    var stepDurations = steps
                        .Where(s => s.StartedAt is not null && s.FinishedAt is not null)
                        .Select(s => (s.Name, s.FinishedAt!.Value - s.StartedAt!.Value))
                        .ToArray();
                    history.Add((build.FinishedAt!.Value - build.StartedAt, stepDurations));
                }

                builder.SeedDurations(history);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // ETA is a nicety: without history there is simply no estimate.
                Log.EtaSeedFailed(_logger, ex, builder.Name);
            }
        }
    }

    private async Task RunJanitorAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_ctx.Options.RetentionInterval, _ctx.Time);
        do
        {
            try
            {
                var result = await _ctx.Store.PruneAsync(_ctx.Options.Retention, _ctx.Now, cancellationToken).ConfigureAwait(false);
                if (result.BuildsDeleted > 0 || result.LogsDeleted > 0)
                {
                    Log.Pruned(_logger, result.BuildsDeleted, result.LogsDeleted);
                }

                if (result.BuildsDeleted > 0)
                {
                    await ForgetPrunedBuildsAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.PruneFailed(_logger, ex);
            }
        }
        while (await WaitTick(timer, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Retention and RAM agree: a recent build that retention deleted from storage leaves the builder's recent builds
    /// too (a finished build never writes again, so nothing of it is re-created).
    /// </summary>
    private async Task ForgetPrunedBuildsAsync(CancellationToken cancellationToken)
    {
        foreach (var builder in _builders.Values)
        {
            foreach (var recent in builder.RecentBuilds)
            {
                if (await _ctx.Store.GetBuildAsync(new BuildKey(builder.Name, recent.Number), cancellationToken).ConfigureAwait(false) is null)
                {
                    builder.ForgetRecent(recent);
                }
            }
        }
    }

    private static async Task<bool> WaitTick(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (_phase == PhaseNew)
        {
            throw new InvalidOperationException("The BuildStatus host has not been started; nothing is written before StartAsync.");
        }

        return _ctx.Pipeline.FlushAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateLock)
        {
            if (_stopTask is null)
            {
                // The transition happens now, before this call returns: no build starts after StopAsync was called.
                var wasRunning = _phase == PhaseRunning || (_phase == PhaseDraining && _drainingEarly);
                if (_phase < PhaseDraining)
                {
                    _phase = wasRunning ? PhaseDraining : PhaseStopped;
                }

                _stopTask = StopCoreAsync(wasRunning, cancellationToken);
            }

            return _stopTask;
        }
    }

    /// <summary>Running → draining: no new builds; running builds may still change and finish. The stop follows.</summary>
    internal void BeginDraining()
    {
        lock (_stateLock)
        {
            if (_phase == PhaseRunning)
            {
                _phase = PhaseDraining;
                _drainingEarly = true;
            }
        }
    }

    // Set under _stateLock by BeginDraining: the stop that follows was running when draining began.
    private bool _drainingEarly;

    private async Task StopCoreAsync(bool wasRunning, CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (!wasRunning)
        {
            // Never started (or a start is still in flight, which now fails): nothing to drain.
            await AwaitQuietly(_startTask).ConfigureAwait(false);
            await _ctx.Pipeline.StopAsync(TimeSpan.Zero, () => StoppedCause, cancellationToken).ConfigureAwait(false);
            _phase = Math.Max(_phase, PhaseStopped);
            return;
        }

        if (_janitorStop is not null)
        {
            await _janitorStop.CancelAsync().ConfigureAwait(false);
        }

        await AwaitQuietly(_janitor).ConfigureAwait(false);
        await AwaitQuietly(_etaSeed).ConfigureAwait(false);
        if (_relay is { } relay)
        {
            await relay.StopAsync().ConfigureAwait(false);
        }

        // Draining: running builds may still change and finish until StopTimeout.
        await WaitForLiveBuildsAsync(cancellationToken).ConfigureAwait(false);

        // Stopped: from here every mutation throws. A live build's partial lines are stored as lines, then the queue drains.
        _phase = PhaseStopped;
        foreach (var build in CurrentBuilds)
        {
            foreach (var step in build.Steps)
            {
                foreach (var log in step.Logs)
                {
                    (log as Process.Log)?.EndPartialLinesForStop();
                }
            }
        }

        await _ctx.Pipeline.StopAsync(_ctx.Options.StopTimeout, () => StoppedCause, cancellationToken).ConfigureAwait(false);
        if (_lease is { } lease)
        {
            await lease.StopAsync().ConfigureAwait(false);
        }

        Log.Stopped(_logger, HostName);
    }

    // What a durability task that was still pending at the stop faults with: a BuildStoreException, like every
    // durability failure, with the writer's last error (if any) inside.
    private BuildStoreException StoppedCause
        => new($"The BuildStatus host '{HostName}' stopped before these changes were persisted.", _ctx.Pipeline.LastError);

    private async Task WaitForLiveBuildsAsync(CancellationToken cancellationToken)
    {
        var live = CurrentBuilds;
        if (live.Count == 0)
        {
            return;
        }

        Log.Draining(_logger, live.Count, _ctx.Options.StopTimeout);
        try
        {
            // Real time, like every scheduling timeout: a stop must not wait for a test's fake clock to move.
            await Task.WhenAll(live.Select(b => b.WaitUntilFinishedAsync(CancellationToken.None)))
                .WaitAsync(_ctx.Options.StopTimeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            Log.DrainIncomplete(_logger, CurrentBuilds.Count);
        }
    }

    private static async Task AwaitQuietly(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Stopping: what the task did is logged where it failed, or it was cancelled.
        }
    }

    public ValueTask DisposeAsync()
    {
        Task dispose;
        lock (_stateLock)
        {
            dispose = _disposeTask ??= DisposeCoreAsync();
        }

        return new ValueTask(dispose);
    }

    private async Task DisposeCoreAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _phase = PhaseDisposed;
        await _ctx.Pipeline.DisposeAsync().ConfigureAwait(false);
        await _ctx.Hub.DisposeAsync().ConfigureAwait(false);
        _janitorStop?.Dispose();
        _lease?.Dispose();
        if (_relay is { } relay)
        {
            await relay.DisposeAsync().ConfigureAwait(false);
        }

        _ctx.Metrics.Dispose();
    }

    /// <summary>
    /// Synchronous disposal for containers disposed with <c>Dispose()</c>: stops gracefully (blocking the
    /// caller for at most twice <see cref="BuildStatusOptions.StopTimeout"/>) and releases everything.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Information, "BuildStatus host '{HostName}' started.")]
        public static partial void Started(ILogger logger, string hostName);

        [LoggerMessage(11, LogLevel.Information, "BuildStatus host '{HostName}' stopped.")]
        public static partial void Stopped(ILogger logger, string hostName);

        [LoggerMessage(12, LogLevel.Warning, "Recovered build {Number} of builder '{Builder}', left unfinished by a previous run: finished as Retry.")]
        public static partial void Recovered(ILogger logger, string builder, int number);

        [LoggerMessage(13, LogLevel.Information, "Retention pruned {Builds} builds and {Logs} logs.")]
        public static partial void Pruned(ILogger logger, int builds, int logs);

        [LoggerMessage(14, LogLevel.Warning, "Retention pruning failed; it is tried again at the next interval.")]
        public static partial void PruneFailed(ILogger logger, Exception exception);

        [LoggerMessage(16, LogLevel.Information, "Stopping: waiting up to {Timeout} for {Count} running builds to finish.")]
        public static partial void Draining(ILogger logger, int count, TimeSpan timeout);

        [LoggerMessage(17, LogLevel.Warning, "Stopping: {Count} builds were still running at the stop timeout; what they change from now on is refused.")]
        public static partial void DrainIncomplete(ILogger logger, int count);

        [LoggerMessage(15, LogLevel.Debug, "Could not load ETA history of builder '{Builder}'.")]
        public static partial void EtaSeedFailed(ILogger logger, Exception exception, string builder);
    }
}
