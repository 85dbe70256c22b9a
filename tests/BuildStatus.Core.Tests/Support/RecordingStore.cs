using BuildStatus.Storage.Testing;
using System.Collections.Concurrent;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Support;

/// <summary>Records the batches the pipeline sends.</summary>
internal sealed class RecordingStore(IBuildStore inner) : DelegatingBuildStore(inner)
{
    private readonly ConcurrentQueue<WriteBatch> _batches = new();

    public IReadOnlyList<WriteBatch> Batches => _batches.ToArray();

    public IReadOnlyList<StoredLogChunk> Chunks => _batches.SelectMany(b => b.LogChunks).ToArray();

    public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        await Inner.ApplyAsync(batch, cancellationToken);
        _batches.Enqueue(batch);
    }
}
