using BuildStatus.Storage;

namespace BuildStatus.Pipeline;

/// <summary>Collects one batch's rows. Owned by the writer task; never shared.</summary>
internal sealed class BatchBuilder
{
    public List<StoredBuilder> Builders { get; } = [];

    public List<StoredWorker> Workers { get; } = [];

    public List<StoredBuild> Builds { get; } = [];

    public List<StoredStep> Steps { get; } = [];

    public List<StoredLog> Logs { get; } = [];

    public List<StoredLogChunk> Chunks { get; } = [];

    /// <summary>Gets the entities whose snapshots are in the batch, for <see cref="PersistedEntity.OnCommitted"/>.</summary>
    public List<PersistedEntity> Entities { get; } = [];

    /// <summary>Gets or sets the bytes of log text in the batch (released from the queue bound on commit).</summary>
    public long LogBytes { get; set; }

    public int Count => Builders.Count + Workers.Count + Builds.Count + Steps.Count + Logs.Count + Chunks.Count;

    public WriteBatch ToBatch() => new()
    {
        Builders = Builders.ToArray(),
        Workers = Workers.ToArray(),
        Builds = Builds.ToArray(),
        Steps = Steps.ToArray(),
        Logs = Logs.ToArray(),
        LogChunks = Chunks.ToArray(),
    };
}
