using BuildStatus.Hosting;
using BuildStatus.Storage;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Pipeline;

/// <summary>
/// The write-behind pipeline: status mutations mark entities dirty (never waiting for I/O); one writer task drains
/// the <see cref="WriteQueue"/> in order, forms batches of non-destructive <see cref="EntitySnapshot"/>s and hands
/// them to the <see cref="BatchCommitter"/>; <see cref="DurabilityWaiters"/> and the <see cref="QueueBound"/> learn
/// what committed. This type owns the writer loop and its lifecycle.
/// </summary>
/// <remarks>
/// Lifecycle: <see cref="Start"/> → running → <see cref="StopAsync"/> (drains the queue, then stops: every pending
/// durability task and every later wait faults with the stop's cause) → <see cref="DisposeAsync"/>. Stop and dispose
/// are idempotent and safe to call concurrently.
/// </remarks>
internal sealed partial class WritePipeline : IAsyncDisposable
{
    private readonly IBuildStore _store;
    private readonly BuildStatusOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BuildStatusMetrics _metrics;
    private readonly WriteQueue _queue = new();
    private readonly DurabilityWaiters _waiters = new();
    private readonly QueueBound _bound;
    private readonly BatchCommitter _committer;

    // Whether batches carry outbox events (the store has an event feed). Set once in the constructor.
    private readonly bool _events;

    // Wakes the writer. _signalled is 1 while a release is outstanding, so the semaphore's count never
    // exceeds 1 however many changes are queued (a count per change would overflow on a busy host).
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private int _signalled;

    // Cuts the group-commit delay short (a durability wait, a full queue, a stop). Same one-outstanding-release
    // scheme as _signal.
    private readonly SemaphoreSlim _urgent = new(0, int.MaxValue);
    private int _urgentSignalled;

    // Cancelled to abort the writer; disposed only once the writer has ended.
    private readonly CancellationTokenSource _abort = new();

    // Guards _writer, _stopTask and _disposeTask: the lifecycle transitions, each run once.
    private readonly Lock _lifecycle = new();
    private Task? _writer;
    private Task? _stopTask;
    private Task? _disposeTask;

    // Written by the writer task; read anywhere: entities of the batches being committed (out of the queue).
    private volatile int _inFlightEntities;
    private volatile bool _stopping;

    public WritePipeline(IBuildStore store, BuildStatusOptions options, TimeProvider time, Func<double> random, ILogger logger, BuildStatusMetrics metrics)
    {
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _bound = new QueueBound(options.MaxQueueBytes);
        _committer = new BatchCommitter(store, options, time, random, logger, metrics, _waiters, () => InstanceIdOrNull);
        _events = store is IBuildEventFeed { SupportsEvents: true };
    }

    public WriterState State => _committer.State;

    public Exception? LastError => _committer.LastError;

    public long PendingBytes => _bound.Pending;

    public int QueueLength => _queue.Count;

    public long RetryCount => _committer.RetryCount;

    /// <summary>Gets how many entity snapshots the backend rejected and the writer quarantined.</summary>
    public long Quarantined => _committer.Quarantined;

    public bool IsNearBound => _bound.IsNearBound;

    /// <summary>Gets whether an append must wait for queue space.</summary>
    public bool IsFull => _bound.IsFull;

    /// <summary>Gets the writer's outstanding wake-ups (at most 1); for tests.</summary>
    internal int PendingSignals => _signal.CurrentCount;

    /// <summary>Gets the sequence number of the latest change queued so far.</summary>
    public long CurrentSequence => _queue.CurrentSequence;

    public TimeSpan RetryDelay(int attempt) => _committer.RetryDelay(attempt);

    /// <summary>Gets or sets the instance that writes, 0 for none: every batch carries it (fencing). Set by the instance lease.</summary>
    public long InstanceId
    {
        get => Volatile.Read(ref _instanceId);
        set => Volatile.Write(ref _instanceId, value);
    }

    private long _instanceId;

    private long? InstanceIdOrNull => InstanceId is > 0 and var id ? id : null;

    /// <summary>Gets or sets what the writer does when the store refuses a batch because this instance was fenced:
    /// the returned task completes once a new instance is registered. Set by the host before start.</summary>
    public Func<InstanceFencedException, Task>? OnFenced
    {
        get => _committer.OnFenced;
        set => _committer.OnFenced = value;
    }

    public void Start()
    {
        lock (_lifecycle)
        {
            _writer ??= Task.Run(RunAsync);
        }
    }

    /// <summary>Queues an entity whose state changed. The caller holds <see cref="PersistedEntity.SyncRoot"/>.</summary>
    /// <returns>The sequence number that covers this change.</returns>
    /// <summary>Gets whether batches carry outbox events (the store has an event feed that supports events).</summary>
    public bool WritesEvents => _events;

    public long MarkDirty(PersistedEntity entity)
    {
        if (entity.IsQueued)
        {
            // Already queued and not yet snapshotted: the coming snapshot includes this change.
            return _queue.CurrentSequenceRelaxed;
        }

        entity.IsQueued = true;
        var seq = _queue.Enqueue(entity);
        Signal();
        return seq;
    }

    /// <summary>Adds (or removes) bytes of whole lines and of partial lines counted against the queue bound; a queue
    /// past a quarter of it needs the writer now.</summary>
    public void AddPendingBytes(long lineBytes, long partialBytes)
    {
        if (_bound.Add(lineBytes, partialBytes) >= _options.MaxQueueBytes / 4 && lineBytes > 0)
        {
            Hurry();
        }
    }

    /// <summary>Completes when the pending bytes drop below the bound; faults once the host has stopped.</summary>
    public Task WaitForSpaceAsync(CancellationToken cancellationToken)
    {
        var wait = _bound.WaitForSpaceAsync(cancellationToken);
        if (!wait.IsCompleted)
        {
            Hurry();
            _metrics.BackpressureWaits.Add(1);
        }

        return wait;
    }

    /// <summary>Completes when every change up to <paramref name="target"/> is committed (or, for those it does not
    /// own, dropped: an entity's own tasks check the entity).</summary>
    public Task WaitForAsync(long target, CancellationToken cancellationToken) => Wait(target, long.MaxValue, cancellationToken);

    /// <summary>Completes when everything queued so far is committed; faults if any of it was dropped.</summary>
    public Task FlushAsync(CancellationToken cancellationToken)
    {
        var floor = _waiters.Committed;
        return Wait(_queue.CurrentSequence, floor, cancellationToken);
    }

    private Task Wait(long target, long dropFloor, CancellationToken cancellationToken)
    {
        if (_waiters.Wait(target, dropFloor) is not { } wait)
        {
            return Task.CompletedTask;
        }

        Signal();
        Hurry();
        return cancellationToken.CanBeCanceled && !wait.IsCompleted ? wait.WaitAsync(cancellationToken) : wait;
    }

    /// <summary>
    /// Drains the queue and stops the writer; gives up at the timeout or on cancellation. Afterwards every pending
    /// durability task, every later wait that is not already satisfied and every append waiting for space faults
    /// with what <paramref name="stoppedCause"/> makes. Idempotent: a second call returns the first call's task.
    /// </summary>
    public Task StopAsync(TimeSpan timeout, Func<Exception> stoppedCause, CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            return _stopTask ??= StopCoreAsync(timeout, stoppedCause, cancellationToken);
        }
    }

    private async Task StopCoreAsync(TimeSpan timeout, Func<Exception> stoppedCause, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _stopping = true;
        _committer.Stopping = true;
        if (_writer is { } writer)
        {
            Signal();
            Hurry();
            try
            {
                // Real time: a stop must not wait for a test's fake clock to move.
                await writer.WaitAsync(timeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                await _abort.CancelAsync().ConfigureAwait(false);
                await WaitForWriterAsync(AbortGrace).ConfigureAwait(false);
            }
        }

        var left = QueueLength + _inFlightEntities;
        var bytes = PendingBytes;
        if (left > 0 || bytes > 0 || State != WriterState.Healthy)
        {
            Log.StopIncomplete(_logger, left, bytes, LastError);
        }

        var cause = stoppedCause();
        _waiters.Stop(cause);
        _bound.Stop(cause);
    }

    private async Task RunAsync()
    {
        var token = _abort.Token;
        try
        {
            await RunLoopAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Aborted (a stop past its timeout, or dispose) or stopping with a failed backend.
        }
    }

    private async Task RunLoopAsync(CancellationToken token)
    {
        // A batch taken while the previous one was being applied, already handed to IBuildStore.PrepareAsync.
        TakenBatch? next = null;
        while (true)
        {
            TakenBatch current;
            if (next is not null)
            {
                current = next;
                next = null;
            }
            else
            {
                if (QueueLength == 0)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    await _signal.WaitAsync(token).ConfigureAwait(false);
                    Volatile.Write(ref _signalled, 0);
                    await GroupCommitDelayAsync(token).ConfigureAwait(false);
                    continue;
                }

                current = TakeBatch(_waiters.Committed, prepare: false, token);
                if (current.Builder.HadSnapshotFailure && current.Builder.Snapshots.Count == 0)
                {
                    // Only entities whose snapshot throws are queued: do not spin on them.
                    await Task.Delay(_options.RetryMaxDelay, _time, token).ConfigureAwait(false);
                }
            }

            _inFlightEntities = current.Builder.Snapshots.Count;
            var commit = current.Builder.Count > 0
                ? _committer.CommitAsync(current.Builder.Snapshots, current.Batch, current.Prepared, token)
                : CommitEmpty(current.Builder.Snapshots);

            // While this batch is applied, take the next one as soon as enough is queued and let the store prepare it
            // (compress its logs, say) on another thread, so that work overlaps this batch's I/O instead of following
            // it. The next batch is applied only after this one completes, so the order of writes is unchanged. The
            // commit's completion wakes this wait like a queued change does.
            if (!commit.IsCompleted && !_stopping)
            {
                _ = commit.ContinueWith(static (_, state) => ((WritePipeline)state!).Signal(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                while (!commit.IsCompleted)
                {
                    // Worth preparing only once enough log text waits: taking every single change at once would
                    // cut the stream into many tiny batches, each with its own transaction.
                    if (QueueLength > 0 && PendingBytes - current.Builder.LogBytes >= PrepareAheadBytes)
                    {
                        next = TakeBatch(current.Builder.LastSeq, prepare: true, token);
                        _inFlightEntities = current.Builder.Snapshots.Count + next.Builder.Snapshots.Count;
                        break;
                    }

                    await _signal.WaitAsync(token).ConfigureAwait(false);
                    Volatile.Write(ref _signalled, 0);
                }
            }

            await commit.ConfigureAwait(false);
            _inFlightEntities = next?.Builder.Snapshots.Count ?? 0;
            var released = current.Builder.LogBytes;
            var committedUpTo = current.Builder.LastSeq;

            // This loop's locals live in its state machine while it waits for the next change: drop the committed
            // batch before anyone learns it committed, so its snapshots do not keep builds alive that have left RAM.
            current = null!;
            commit = null!;
            _bound.Add(-released);
            _waiters.Advance(committedUpTo);
        }
    }

    // A batch with no rows: nothing to store. An entity of a lost build (this instance was fenced) learns that its
    // data was dropped, the others that their (empty) snapshot is done.
    private Task CommitEmpty(List<EntitySnapshot> snapshots)
    {
        foreach (var snapshot in snapshots)
        {
            if (snapshot.Entity.IsLost)
            {
                _committer.DropLost(snapshot);
            }
            else
            {
                snapshot.Entity.OnCommitted(snapshot);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Takes the next batch: up to MaxBatchSize rows or MaxBatchBytes of log text, each entity at most once. An entity
    /// whose snapshot throws (a defect) is left out of the batch and queued again; the others are unaffected.
    /// </summary>
    private TakenBatch TakeBatch(long floorSeq, bool prepare, CancellationToken token)
    {
        var batch = new BatchBuilder { LastSeq = floorSeq };
        var now = _events ? StorageTime.Truncate(_time.GetUtcNow()) : default;
        var instanceId = InstanceId;
        while (batch.Count < _options.MaxBatchSize && batch.LogBytes < _options.MaxBatchBytes
            && _queue.TryDequeue(batch, out var item))
        {
            var snapshot = new EntitySnapshot(item.Entity, item.Seq);
            var taken = false;
            lock (item.Entity.SyncRoot)
            {
                item.Entity.IsQueued = false;
                try
                {
                    item.Entity.AppendTo(snapshot);
                    if (_events)
                    {
                        OutboxEvents.Derive(snapshot, now, _options.HostName, instanceId);
                    }

                    taken = true;
                }
                catch (Exception ex)
                {
                    // Nothing of the entity changed (snapshots are non-destructive); it is queued again with its
                    // changes, behind what is queued now.
                    _metrics.SnapshotFailures.Add(1);
                    Log.SnapshotFailed(_logger, ex, item.Entity.ToString() ?? string.Empty);
                    MarkDirty(item.Entity);
                }
            }

            if (taken)
            {
                batch.Add(snapshot);
            }
            else
            {
                batch.Skip(item.Entity);
                batch.HadSnapshotFailure = true;
            }

            batch.LastSeq = item.Seq;
        }

        var whole = BatchBuilder.ToBatch(batch.Snapshots, InstanceIdOrNull);
        var prepared = prepare && !whole.IsEmpty ? PrepareAsync(whole, token) : Task.CompletedTask;
        return new TakenBatch(batch, whole, prepared);
    }

    // Runs the store's preparation on a pool thread; its failure only means ApplyAsync does that work itself.
    private Task PrepareAsync(WriteBatch batch, CancellationToken token)
        => Task.Run(
            async () =>
            {
                try
                {
                    await _store.PrepareAsync(batch, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    Log.PrepareFailed(_logger, ex);
                }
            },
            CancellationToken.None);

    /// <summary>How much queued log text makes the writer take the next batch early, to prepare it during a commit.</summary>
    private const long PrepareAheadBytes = 256 * 1024;

    /// <summary>A batch the writer has taken: its snapshots, the batch the store sees, and its preparation.</summary>
    private sealed record TakenBatch(BatchBuilder Builder, WriteBatch Batch, Task Prepared);

    /// <summary>
    /// After waking from idle for a change nobody waits for, gathers changes for up to
    /// <see cref="BuildStatusOptions.GroupCommitDelay"/> (real time: a scheduling detail, not a timestamp), unless
    /// something needs the writer now.
    /// </summary>
    private async ValueTask GroupCommitDelayAsync(CancellationToken token)
    {
        var delay = _options.GroupCommitDelay;
        if (delay <= TimeSpan.Zero || _stopping || _waiters.HasWaiters || PendingBytes >= _options.MaxQueueBytes / 4)
        {
            return;
        }

        if (await _urgent.WaitAsync(delay, token).ConfigureAwait(false))
        {
            Volatile.Write(ref _urgentSignalled, 0);
        }
    }

    private void Hurry()
    {
        if (Interlocked.Exchange(ref _urgentSignalled, 1) == 0)
        {
            _urgent.Release();
        }
    }

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            _signal.Release();
        }
    }

    // How long a stop waits for the writer after cancelling it: a backend call that ignores cancellation must
    // not hang the host's shutdown.
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(2);

    private async Task WaitForWriterAsync(TimeSpan grace)
    {
        if (_writer is null)
        {
            return;
        }

        try
        {
            await _writer.WaitAsync(grace, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.WriterAbandoned(_logger, grace);
        }
    }

    /// <summary>Aborts the writer (a stop should come first to drain it) and releases what it owns. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_lifecycle)
        {
            _disposeTask ??= DisposeCoreAsync();
            return new ValueTask(_disposeTask);
        }
    }

    private async Task DisposeCoreAsync()
    {
        await Task.Yield();
        _stopping = true;
        await _abort.CancelAsync().ConfigureAwait(false);
        await WaitForWriterAsync(AbortGrace).ConfigureAwait(false);
        var cause = new ObjectDisposedException(nameof(IBuildStatusHost), "The BuildStatus host was disposed before these changes were persisted.");
        _waiters.Stop(cause);
        _bound.Stop(cause);
        if (_writer is null || _writer.IsCompleted)
        {
            // An abandoned writer may still touch these; leave them to the finalizer then.
            _abort.Dispose();
            _signal.Dispose();
            _urgent.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(8, LogLevel.Warning, "The storage backend failed to prepare a batch ahead of time; it will do that work when the batch is applied.")]
        public static partial void PrepareFailed(ILogger logger, Exception exception);

        [LoggerMessage(5, LogLevel.Critical, "Taking a snapshot of {Entity} for storage failed; it stays queued and is tried again, the rest of the batch is unaffected.")]
        public static partial void SnapshotFailed(ILogger logger, Exception exception, string entity);

        [LoggerMessage(6, LogLevel.Error, "The storage writer did not stop within {Grace} of being cancelled (a backend call ignores cancellation); it was abandoned.")]
        public static partial void WriterAbandoned(ILogger logger, TimeSpan grace);

        [LoggerMessage(4, LogLevel.Error, "Stopped with {Entries} queued changes and {Bytes} bytes of log text not persisted.")]
        public static partial void StopIncomplete(ILogger logger, int entries, long bytes, Exception? exception);
    }
}
