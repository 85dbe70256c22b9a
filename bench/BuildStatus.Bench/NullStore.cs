using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Bench;

/// <summary>
/// <c>--store null</c>: allocates build numbers and discards every batch, so a run measures the library's own cost
/// (status, events, the writer's batching) and the workload's, with no storage work at all. Nothing can be read back.
/// </summary>
internal sealed class NullStore() : DelegatingBuildStore(new InMemoryBuildStore())
{
    // Guarded by itself: build starts may come from many threads.
    private readonly Dictionary<string, int> _numbers = new(StringComparer.Ordinal);

    public override Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.CompletedTask;
    }

    public override Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_numbers)
        {
            _numbers.TryGetValue(build.BuilderName, out var last);
            _numbers[build.BuilderName] = ++last;
            return Task.FromResult(last);
        }
    }
}
