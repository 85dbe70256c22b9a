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

    // Registries: the dictionaries are concurrent; _registryLock serializes additions so the ordered views
    // (replaced, never mutated) match registration order.
    private readonly Lock _registryLock = new();
    private readonly ConcurrentDictionary<string, Builder> _builders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Worker> _workers = new(StringComparer.Ordinal);
    private IReadOnlyList<IBuilderStatus> _buildersView = [];
    private IReadOnlyList<IWorkerStatus> _workersView = [];
    private long _nextRequestId;

    // Lifecycle, guarded by _lifecycle (one start or stop at a time).
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private volatile int _phase; // 0 new, 1 running, 2 stopped, 3 disposed
    private CancellationTokenSource? _janitorStop;
    private Task? _janitor;
    private Task? _etaSeed;

    public BuildStatusHost(IOptions<BuildStatusOptions> options, IEnumerable<IBuildStore> stores, TimeProvider? time = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stores);
        var opts = options.Value;
        var store = stores.LastOrDefault();
        _hasStore = store is not null;
        time ??= TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("BuildStatus");
        var metrics = new BuildStatusMetrics(meterFactory, opts.HostName);
        var hub = new EventHub(opts.SubscriberBufferCapacity, _logger);
        store ??= new MissingStore();
        var pipeline = new WritePipeline(store, opts, time, _logger, metrics);
        _ctx = new HostContext(this, opts, store, time, hub, pipeline, metrics, _logger);
        HistoryImpl = new BuildHistory(_ctx);
        AdapterImpl = new StatusAdapter(_ctx);
        metrics.Observe(() => pipeline.QueueLength, () => pipeline.PendingBytes, () => hub.TotalDropped);
        metrics.ObserveStatus(this);
    }

    internal BuildHistory HistoryImpl { get; }

    internal StatusAdapter AdapterImpl { get; }

    internal WritePipeline Pipeline => _ctx.Pipeline;

    internal EventHub Hub => _ctx.Hub;

    public string HostName => _ctx.Options.HostName;

    public IBuildHistory History => HistoryImpl;

    public IStatusAdapter Adapter => AdapterImpl;

    public bool IsRunning => _phase == 1;

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

    internal long NextRequestId() => Interlocked.Increment(ref _nextRequestId);

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
            case 1:
                return;
            case 0:
                throw new InvalidOperationException("The BuildStatus host has not been started: call IBuildStatusHost.StartAsync (the hosted service does this under the Generic Host) before starting builds.");
            case 2:
                throw new InvalidOperationException("The BuildStatus host has stopped; builds can no longer be started.");
            default:
                throw new ObjectDisposedException(nameof(IBuildStatusHost));
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_phase == 3, this);

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

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            switch (_phase)
            {
                case 1:
                    return;
                case 2:
                    throw new InvalidOperationException("The BuildStatus host was stopped and cannot be started again; create a new one.");
                case 3:
                    throw new ObjectDisposedException(nameof(IBuildStatusHost));
            }

            if (!_hasStore)
            {
                throw new InvalidOperationException(
                    "No BuildStatus storage backend is configured. Choose one in AddBuildStatus, e.g. services.AddBuildStatus(b => b.UseSqlite(\"Data Source=builds.db\")) or b.UseInMemoryStorage().");
            }

            var failures = BuildStatusOptionsValidator.Check(_ctx.Options);
            if (failures.Count > 0)
            {
                throw new OptionsValidationException(Options.DefaultName, typeof(BuildStatusOptions), failures);
            }

            await _ctx.Store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            if (_ctx.Options.RecoverOnStart)
            {
                await RecoverAsync(cancellationToken).ConfigureAwait(false);
            }

            _ctx.Pipeline.Start();
            _phase = 1;
            _janitorStop = new CancellationTokenSource();
            if (_ctx.Options.Retention.IsEnabled)
            {
                _janitor = Task.Run(() => RunJanitorAsync(_janitorStop.Token), CancellationToken.None);
            }

            _etaSeed = SeedEtaAsync(_builders.Values.ToArray(), _janitorStop.Token);
            Log.Started(_logger, HostName);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Finishes the builds a previous run of this host left unfinished.</summary>
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var store = _ctx.Store;
        var now = _ctx.Now;
        var text = $"interrupted: host '{HostName}' stopped before the build finished";
        var unfinished = await store.GetUnfinishedBuildsAsync(HostName, cancellationToken).ConfigureAwait(false);
        foreach (var build in unfinished)
        {
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
                    Builds = [build with { FinishedAt = now, Result = BuildResult.Retry, StateText = text }],
                    Steps = steps,
                    Logs = logs,
                },
                cancellationToken).ConfigureAwait(false);
            Diagnostics.BuildStatusTelemetry.BuildRecovered(_ctx, build, steps, now, text);
            Log.Recovered(_logger, build.BuilderName, build.Number);
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
        if (_phase == 0)
        {
            throw new InvalidOperationException("The BuildStatus host has not been started; nothing is written before StartAsync.");
        }

        return _ctx.Pipeline.FlushAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_phase != 1)
            {
                return;
            }

            _phase = 2;
            if (_janitorStop is not null)
            {
                await _janitorStop.CancelAsync().ConfigureAwait(false);
            }

            await AwaitQuietly(_janitor).ConfigureAwait(false);
            await AwaitQuietly(_etaSeed).ConfigureAwait(false);
            await _ctx.Pipeline.StopAsync(_ctx.Options.StopTimeout, cancellationToken).ConfigureAwait(false);
            Log.Stopped(_logger, HostName);
        }
        finally
        {
            _lifecycle.Release();
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
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_phase == 3)
        {
            return;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _phase = 3;
        await _ctx.Pipeline.DisposeAsync().ConfigureAwait(false);
        await _ctx.Hub.DisposeAsync().ConfigureAwait(false);
        _janitorStop?.Dispose();
        _ctx.Metrics.Dispose();
    }

    /// <summary>
    /// Synchronous disposal for containers disposed with <c>Dispose()</c>: stops gracefully (blocking the
    /// caller for at most <see cref="BuildStatusOptions.StopTimeout"/>) and releases everything.
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

        [LoggerMessage(15, LogLevel.Debug, "Could not load ETA history of builder '{Builder}'.")]
        public static partial void EtaSeedFailed(ILogger logger, Exception exception, string builder);
    }
}
