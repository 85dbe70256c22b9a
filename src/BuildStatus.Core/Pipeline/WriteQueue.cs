namespace BuildStatus.Pipeline;

/// <summary>
/// The queue of dirty entities, each entry with a sequence number taken together with the enqueue, so queue order is
/// sequence order: "committed up to S" means every change queued before S was taken is durable.
/// </summary>
internal sealed class WriteQueue
{
    // Guards _queue and _enqueuedSeq. A leaf lock: taken while an entity's lock may be held, never the reverse.
    private readonly Lock _lock = new();
    private readonly Queue<(PersistedEntity Entity, long Seq)> _queue = new();
    private long _enqueuedSeq;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Gets the sequence number of the latest entry queued so far.</summary>
    public long CurrentSequence
    {
        get
        {
            lock (_lock)
            {
                return _enqueuedSeq;
            }
        }
    }

    /// <summary>Gets the latest sequence number without the lock; for a change that joins an entry already queued.</summary>
    public long CurrentSequenceRelaxed => Volatile.Read(ref _enqueuedSeq);

    public long Enqueue(PersistedEntity entity)
    {
        lock (_lock)
        {
            var seq = ++_enqueuedSeq;
            _queue.Enqueue((entity, seq));
            return seq;
        }
    }

    /// <summary>Takes the next entry unless its entity is already in <paramref name="batch"/> (that change waits for the next batch).</summary>
    public bool TryDequeue(BatchBuilder batch, out (PersistedEntity Entity, long Seq) item)
    {
        lock (_lock)
        {
            if (!_queue.TryPeek(out item) || batch.Contains(item.Entity))
            {
                return false;
            }

            _queue.Dequeue();
            return true;
        }
    }
}
