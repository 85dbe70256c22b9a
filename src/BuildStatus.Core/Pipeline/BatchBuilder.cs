using BuildStatus.Storage;

namespace BuildStatus.Pipeline;

/// <summary>
/// Collects one batch's rows. Owned by the writer task; never shared. An entity changed again while the
/// writer is still taking the batch can be queued and taken twice: its later row replaces the earlier one
/// (a key appears once per batch, as the SPI requires), and its later log chunks follow the earlier ones.
/// </summary>
internal sealed class BatchBuilder
{
    private readonly Dictionary<PersistedEntity, int> _rowIndex = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<PersistedEntity> _entities = new(ReferenceEqualityComparer.Instance);

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

    public void AddEntity(PersistedEntity entity)
    {
        if (_entities.Add(entity))
        {
            Entities.Add(entity);
        }
    }

    public void Add(PersistedEntity entity, StoredBuilder row) => Put(Builders, entity, row);

    public void Add(PersistedEntity entity, StoredWorker row) => Put(Workers, entity, row);

    public void Add(PersistedEntity entity, StoredBuild row) => Put(Builds, entity, row);

    public void Add(PersistedEntity entity, StoredStep row) => Put(Steps, entity, row);

    public void Add(PersistedEntity entity, StoredLog row) => Put(Logs, entity, row);

    private void Put<T>(List<T> rows, PersistedEntity entity, T row)
    {
        if (_rowIndex.TryGetValue(entity, out var index))
        {
            rows[index] = row;
            return;
        }

        _rowIndex[entity] = rows.Count;
        rows.Add(row);
    }

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
