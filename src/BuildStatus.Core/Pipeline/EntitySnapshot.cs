using BuildStatus.Storage;

namespace BuildStatus.Pipeline;

/// <summary>
/// One entity's part of a batch: the row it wrote (and, for a log, its new chunks), the queue sequence number of the
/// entry it was taken from, and the log bytes it releases from the queue bound once committed or dropped. Filled by
/// the entity under its lock, then owned by the writer task alone.
/// </summary>
internal sealed class EntitySnapshot
{
    public EntitySnapshot(PersistedEntity entity, long seq)
    {
        Entity = entity;
        Seq = seq;
    }

    public PersistedEntity Entity { get; }

    /// <summary>Gets the sequence number of the queue entry the snapshot was taken for.</summary>
    public long Seq { get; }

    /// <summary>Gets or sets the row: a <see cref="StoredBuilder"/>, <see cref="StoredWorker"/>, <see cref="StoredBuild"/>,
    /// <see cref="StoredStep"/> or <see cref="StoredLog"/>; <see langword="null"/> when the entity had nothing to write.</summary>
    public object? Row { get; set; }

    /// <summary>Gets or sets a log's new chunks, in line order.</summary>
    public List<StoredLogChunk>? Chunks { get; set; }

    /// <summary>Gets or sets the outbox rows this snapshot makes (stores with an event feed only), or <see langword="null"/>.</summary>
    public List<OutboxEvent>? Events { get; set; }

    /// <summary>Gets or sets how many lines the chunks hold.</summary>
    public int Lines { get; set; }

    /// <summary>Gets or sets the bytes counted against the queue bound that this snapshot releases.</summary>
    public long LogBytes { get; set; }

    /// <summary>Gets the number of rows and chunks.</summary>
    public int Count => (Row is null ? 0 : 1) + (Chunks?.Count ?? 0);

    /// <summary>Gets the key that names this snapshot's rows in a <see cref="BatchRejectedException"/>.</summary>
    public object? Key => Row switch
    {
        StoredBuilder b => b.Name,
        StoredWorker w => w.Name,
        StoredBuild b => b.Key,
        StoredStep s => s.Key,
        StoredLog l => l.Key,
        StoredBuildRequest r => r.Id,
        _ => Chunks is { Count: > 0 } chunks ? chunks[0].Log : null,
    };

    /// <summary>Gets whether <paramref name="keys"/> names this snapshot's rows.</summary>
    public bool IsNamedBy(IReadOnlyList<object> keys)
    {
        if (Key is not { } key)
        {
            return false;
        }

        foreach (var named in keys)
        {
            if (key.Equals(named))
            {
                return true;
            }
        }

        return false;
    }

    public override string ToString() => Entity.ToString() ?? Entity.GetType().Name;
}
