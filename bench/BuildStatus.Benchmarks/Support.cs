using BuildStatus.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Benchmarks;

/// <summary>
/// A store that allocates build numbers and discards writes, so that a benchmark measures the library and not a
/// backend. With <see cref="Stall"/> its <see cref="ApplyAsync"/> waits (like a disk that stopped answering) until
/// <see cref="Release"/>.
/// </summary>
internal sealed class BenchStore : IBuildStore
{
    private readonly InMemoryBuildStore _numbers = new();
    private TaskCompletionSource? _gate;

    public void Stall() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    public async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _gate) is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => _numbers.InitializeAsync(cancellationToken);

    public Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default) => _numbers.CreateBuildAsync(build, cancellationToken);

    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) => _numbers.GetBuildersAsync(cancellationToken);

    public Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => _numbers.GetBuilderAsync(name, cancellationToken);

    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) => _numbers.GetWorkersAsync(cancellationToken);

    public Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => _numbers.GetWorkerAsync(name, cancellationToken);

    public Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => _numbers.GetBuildAsync(key, cancellationToken);

    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => _numbers.QueryBuildsAsync(query, cancellationToken);

    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) => _numbers.GetStepsAsync(build, cancellationToken);

    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) => _numbers.GetLogsAsync(step, cancellationToken);

    public Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) => _numbers.GetLogAsync(log, cancellationToken);

    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default) => _numbers.ReadLogLinesAsync(log, firstLine, maxLines, cancellationToken);

    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default) => _numbers.GetUnfinishedBuildsAsync(hostName, cancellationToken);

    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => _numbers.PruneAsync(policy, now, cancellationToken);

    public ValueTask DisposeAsync()
    {
        Release();
        return _numbers.DisposeAsync();
    }
}

/// <summary>A started host on a <see cref="BenchStore"/>, built through AddBuildStatus as a user would.</summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private BenchHost(ServiceProvider provider, BenchStore store)
    {
        _provider = provider;
        Store = store;
        Host = provider.GetRequiredService<IBuildStatusHost>();
    }

    public IBuildStatusHost Host { get; }

    public BenchStore Store { get; }

    public static BenchHost Start(Action<BuildStatusOptions>? configure = null)
    {
        var store = new BenchStore();
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseStore(_ => store).Configure(o =>
        {
            o.HostName = "bench";

            // Large enough that a stalled store never makes an append wait: the benchmark measures the fast path.
            o.MaxQueueBytes = 1L << 40;
            o.StopTimeout = TimeSpan.FromSeconds(5);
            configure?.Invoke(o);
        }));
        var provider = services.BuildServiceProvider();
        var host = new BenchHost(provider, store);
        host.Host.StartAsync().GetAwaiter().GetResult();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        Store.Release();
        await Host.StopAsync();
        await _provider.DisposeAsync();
    }
}
