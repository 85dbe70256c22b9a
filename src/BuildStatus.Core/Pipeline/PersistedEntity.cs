namespace BuildStatus.Pipeline;

/// <summary>
/// A process object whose state the write-behind pipeline persists. The pipeline queues the entity (not a
/// copy of its state) when it changes, and takes a snapshot when the writer builds the next batch, so many
/// changes to one object between two batches cost one row write.
/// </summary>
internal abstract class PersistedEntity
{
    /// <summary>
    /// Whether the entity sits in the pipeline's queue. Guarded by <see cref="SyncRoot"/>: set by
    /// <see cref="WritePipeline.MarkDirty"/>, cleared by the writer when it takes the snapshot.
    /// </summary>
    internal bool IsQueued;

    /// <summary>Gets the lock that guards the entity's mutable state.</summary>
    internal abstract Lock SyncRoot { get; }

    /// <summary>Adds the entity's current state to <paramref name="batch"/>. Called by the writer with <see cref="SyncRoot"/> held.</summary>
    /// <param name="batch">The batch being built.</param>
    internal abstract void AppendTo(BatchBuilder batch);

    /// <summary>Called by the writer, without locks, after a batch holding a snapshot of this entity committed.</summary>
    /// <param name="snapshot">The row this entity added to that batch (a <see cref="Storage.StoredBuild"/>,
    /// <see cref="Storage.StoredStep"/> or <see cref="Storage.StoredLog"/>), or <see langword="null"/> for entities
    /// that add other rows. The writer may already hold a newer snapshot in its next batch, so entities must not
    /// keep "the last snapshot" in a field.</param>
    internal virtual void OnCommitted(object? snapshot)
    {
    }
}
