using BuildStatus.Storage;

namespace BuildStatus.Pipeline;

/// <summary>
/// The snapshots of one batch, in queue order. Owned by the writer task; never shared. The writer takes each entity
/// at most once per batch (it stops a batch at an entity already in it), so each key appears once, as the SPI requires.
/// </summary>
internal sealed class BatchBuilder
{
    private readonly HashSet<PersistedEntity> _entities = new(ReferenceEqualityComparer.Instance);

    public List<EntitySnapshot> Snapshots { get; } = [];

    /// <summary>Gets the rows and chunks in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the bytes the batch releases from the queue bound.</summary>
    public long LogBytes { get; private set; }

    /// <summary>Gets the sequence number of the last queue entry taken (the batch covers every entry up to it).</summary>
    public long LastSeq { get; set; }

    public bool Contains(PersistedEntity entity) => _entities.Contains(entity);

    /// <summary>Marks an entity as taken for this batch without a snapshot (its snapshot failed).</summary>
    public void Skip(PersistedEntity entity) => _entities.Add(entity);

    /// <summary>Gets or sets whether a snapshot failed while the batch was formed.</summary>
    public bool HadSnapshotFailure { get; set; }

    public void Add(EntitySnapshot snapshot)
    {
        _entities.Add(snapshot.Entity);
        Snapshots.Add(snapshot);
        Count += snapshot.Count;
        LogBytes += snapshot.LogBytes;
    }

    /// <summary>Builds the store's batch from some of the snapshots (in their order).</summary>
    public static WriteBatch ToBatch(IReadOnlyList<EntitySnapshot> snapshots, long? instanceId)
    {
        List<StoredBuilder>? builders = null;
        List<StoredWorker>? workers = null;
        List<StoredBuild>? builds = null;
        List<StoredStep>? steps = null;
        List<StoredLog>? logs = null;
        List<StoredLogChunk>? chunks = null;
        List<StoredBuildRequest>? requests = null;
        foreach (var snapshot in snapshots)
        {
            switch (snapshot.Row)
            {
                case StoredBuilder b:
                    (builders ??= []).Add(b);
                    break;
                case StoredWorker w:
                    (workers ??= []).Add(w);
                    break;
                case StoredBuild b:
                    (builds ??= []).Add(b);
                    break;
                case StoredStep s:
                    (steps ??= []).Add(s);
                    break;
                case StoredLog l:
                    (logs ??= []).Add(l);
                    break;
                case StoredBuildRequest r:
                    (requests ??= []).Add(r);
                    break;
            }

            if (snapshot.Chunks is { Count: > 0 } own)
            {
                (chunks ??= []).AddRange(own);
            }
        }

        return new WriteBatch
        {
            InstanceId = instanceId,
            Builders = builders?.ToArray() ?? [],
            Workers = workers?.ToArray() ?? [],
            Builds = builds?.ToArray() ?? [],
            Steps = steps?.ToArray() ?? [],
            Logs = logs?.ToArray() ?? [],
            LogChunks = chunks?.ToArray() ?? [],
            Requests = requests?.ToArray() ?? [],
            Events = OutboxEvents.Collect(snapshots),
        };
    }
}
