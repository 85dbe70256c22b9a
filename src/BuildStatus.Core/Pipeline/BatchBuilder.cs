using BuildStatus.Storage;

namespace BuildStatus.Pipeline;

/// <summary>
/// Collects one batch's rows. Owned by the writer task; never shared. The writer takes each entity at most
/// once per batch (<see cref="WritePipeline"/> stops a batch at an entity already in it), so each key appears
/// once, as the SPI requires.
/// </summary>
internal sealed class BatchBuilder
{
    private readonly HashSet<PersistedEntity> _entities = new(ReferenceEqualityComparer.Instance);

    public List<StoredBuilder> Builders { get; } = [];

    public List<StoredWorker> Workers { get; } = [];

    public List<StoredBuild> Builds { get; } = [];

    public List<StoredStep> Steps { get; } = [];

    public List<StoredLog> Logs { get; } = [];

    public List<StoredLogChunk> Chunks { get; } = [];

    /// <summary>Gets the entities whose snapshots are in the batch, each with the row it added, for <see cref="PersistedEntity.OnCommitted"/>.</summary>
    public List<(PersistedEntity Entity, object? Snapshot)> Entities { get; } = [];

    /// <summary>Gets or sets the bytes of log text in the batch (released from the queue bound on commit).</summary>
    public long LogBytes { get; set; }

    public int Count => Builders.Count + Workers.Count + Builds.Count + Steps.Count + Logs.Count + Chunks.Count;

    public void AddEntity(PersistedEntity entity)
    {
        if (_entities.Add(entity))
        {
            Entities.Add((entity, null));
        }
    }

    public bool Contains(PersistedEntity entity) => _entities.Contains(entity);

    public void Add(PersistedEntity entity, StoredBuilder row) => Builders.Add(row);

    public void Add(PersistedEntity entity, StoredWorker row) => Workers.Add(row);

    public void Add(PersistedEntity entity, StoredBuild row)
    {
        Builds.Add(row);
        SetSnapshot(entity, row);
    }

    public void Add(PersistedEntity entity, StoredStep row)
    {
        Steps.Add(row);
        SetSnapshot(entity, row);
    }

    public void Add(PersistedEntity entity, StoredLog row)
    {
        Logs.Add(row);
        SetSnapshot(entity, row);
    }

    // An entity adds its row right after the writer added the entity (in AppendTo), so it is the last one listed.
    private void SetSnapshot(PersistedEntity entity, object row)
    {
        if (Entities.Count > 0 && ReferenceEquals(Entities[^1].Entity, entity))
        {
            Entities[^1] = (entity, row);
        }
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
