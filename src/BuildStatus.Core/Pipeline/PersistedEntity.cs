namespace BuildStatus.Pipeline;

/// <summary>
/// A process object whose state the write-behind pipeline persists. The pipeline queues the entity (not a
/// copy of its state) when it changes, and takes a snapshot when the writer forms the next batch, so many
/// changes to one object between two batches cost one row write.
/// </summary>
/// <remarks>
/// The unit of durability is the entity. Taking a snapshot is non-destructive: an entity keeps everything it has not
/// seen committed (a log keeps its lines) until the writer calls <see cref="OnCommitted"/> or
/// <see cref="OnDropped"/> for that snapshot, in the order the snapshots were taken.
/// </remarks>
internal abstract class PersistedEntity
{
    /// <summary>
    /// Whether the entity sits in the pipeline's queue. Guarded by <see cref="SyncRoot"/>: set by
    /// <see cref="WritePipeline.MarkDirty"/>, cleared by the writer when it takes the snapshot.
    /// </summary>
    internal bool IsQueued;

    /// <summary>
    /// The row of the entity's previous snapshot, which the writer compares with the next to derive outbox events
    /// (<see cref="OutboxEvents"/>); <see langword="null"/> before the first. Owned by the writer task alone.
    /// </summary>
    internal object? LastEventRow;

    /// <summary>
    /// Whether the outbox has been given this build's start (on the build entity only): a step's or log's first rows
    /// can reach a batch before the build's own row does. Owned by the writer task alone.
    /// </summary>
    internal bool StartEventWritten;

    /// <summary>Gets the build whose start the outbox must announce before this entity's events, or <see langword="null"/>.</summary>
    internal virtual Process.Build? OutboxBuild => null;

    /// <summary>
    /// Gets whether the entity belongs to a build this host lost (its instance was fenced and another finished the
    /// build): nothing of it may be written any more. Read by the writer without the entity's lock.
    /// </summary>
    internal virtual bool IsLost => false;

    /// <summary>Gets the lock that guards the entity's mutable state.</summary>
    internal abstract Lock SyncRoot { get; }

    /// <summary>
    /// Adds the entity's current state to <paramref name="snapshot"/>. Called by the writer with <see cref="SyncRoot"/>
    /// held. If it throws, the writer discards the snapshot, so an implementation changes its own state only as its
    /// last step, once nothing can throw.
    /// </summary>
    /// <param name="snapshot">The snapshot being taken.</param>
    internal abstract void AppendTo(EntitySnapshot snapshot);

    /// <summary>Called by the writer, without locks, once <paramref name="snapshot"/> is committed.</summary>
    /// <param name="snapshot">A snapshot this entity filled. The writer may already hold a newer one in its next
    /// batch, so entities must not treat it as their latest state.</param>
    internal virtual void OnCommitted(EntitySnapshot snapshot)
    {
    }

    /// <summary>
    /// Called by the writer, without locks, when the backend rejected <paramref name="snapshot"/>'s rows as impossible
    /// (<see cref="Storage.BatchRejectedException"/>) and they were quarantined: that data will never be stored.
    /// </summary>
    /// <param name="snapshot">A snapshot this entity filled.</param>
    /// <param name="cause">The rejection.</param>
    internal virtual void OnDropped(EntitySnapshot snapshot, Exception cause)
    {
    }
}
