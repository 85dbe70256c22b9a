using BuildStatus.Storage;
using BuildStatus.Storage.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Benchmarks;

/// <summary>
/// A store that allocates build numbers and discards writes, so that a benchmark measures the library and not a
/// backend. With <see cref="Stall"/> its <see cref="ApplyAsync"/> waits (like a disk that stopped answering) until
/// <see cref="Release"/>.
/// </summary>
internal sealed class BenchStore() : DelegatingBuildStore(new InMemoryBuildStore())
{
    private TaskCompletionSource? _gate;

    public void Stall() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _gate) is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }
    }

    public override ValueTask DisposeAsync()
    {
        Release();
        return base.DisposeAsync();
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
