using System.Diagnostics;
using BuildStatus.Hosting;
using BuildStatus.Storage;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Pipeline;

/// <summary>Health of the writer, as the health check reports it.</summary>
internal enum WriterState
{
    /// <summary>Commits succeed.</summary>
    Healthy,

    /// <summary>The last commit failed and is being retried.</summary>
    Retrying,

    /// <summary>Retries were exhausted: durability tasks fault; the writer keeps retrying in the background.</summary>
    Failed,
}

/// <summary>
/// The write-behind pipeline: status mutations mark entities dirty (never waiting for I/O); one writer task
/// drains the queue in order and group-commits snapshots in <see cref="IBuildStore.ApplyAsync"/> batches.
/// </summary>
/// <remarks>
/// Ordering: every queue entry has a sequence number taken under <see cref="_queueLock"/> together with the
/// enqueue, so queue order is sequence order. The writer commits entries in that order, so "committed up to
/// S" means every change queued before S was taken is durable. Durability waiters wait for a sequence.
/// </remarks>
internal sealed partial class WritePipeline : IAsyncDisposable
{
    private readonly IBuildStore _store;
    private readonly BuildStatusOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BuildStatusMetrics _metrics;

    // Guards _queue and _enqueuedSeq. A leaf lock: taken while an entity's lock may be held, never the reverse.
    private readonly Lock _queueLock = new();
    private readonly Queue<(PersistedEntity Entity, long Seq)> _queue = new();
    private long _enqueuedSeq;

    // Written by the writer task only; read anywhere (Volatile).
    private long _committedSeq;

    // Guards _waiters and _failure.
    private readonly Lock _waitLock = new();
    private readonly List<(long Target, TaskCompletionSource Tcs)> _waiters = [];
    private Exception? _failure;

    // Bytes of log text appended but not yet committed; Interlocked.
    private long _pendingBytes;

    // Guards _spaceAvailable: completed when pending bytes drop below the bound.
    private readonly Lock _spaceLock = new();
    private TaskCompletionSource? _spaceAvailable;

    // Wakes the writer. _signalled is 1 while a release is outstanding, so the semaphore's count never
    // exceeds 1 however many changes are queued (a count per change would overflow on a busy host).
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private int _signalled;

    // Cuts the group-commit delay short (a durability wait, a full queue, a stop). Same one-outstanding-release
    // scheme as _signal.
    private readonly SemaphoreSlim _urgent = new(0, int.MaxValue);
    private int _urgentSignalled;
    private readonly CancellationTokenSource _abort = new();

    // Entities of the batch the writer is committing (no longer in the queue); counted in the stop report.
    private volatile int _inFlightEntities;
    private Task? _writer;
    private volatile bool _stopping;
    private volatile WriterState _state = WriterState.Healthy;

    public WritePipeline(IBuildStore store, BuildStatusOptions options, TimeProvider time, ILogger logger, BuildStatusMetrics metrics)
    {
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
    }

    public WriterState State => _state;

    public Exception? LastError { get; private set; }

    public long PendingBytes => Interlocked.Read(ref _pendingBytes);

    public int QueueLength
    {
        get
        {
            lock (_queueLock)
            {
                return _queue.Count;
            }
        }
    }

    private long _retryCount;

    public long RetryCount => Interlocked.Read(ref _retryCount);

    private long _rejectedBatches;

    /// <summary>Gets how many batches the backend rejected as malformed and the writer dropped.</summary>
    public long RejectedBatches => Interlocked.Read(ref _rejectedBatches);

    public bool IsNearBound => PendingBytes >= _options.MaxQueueBytes * 8 / 10;

    /// <summary>Gets the writer's outstanding wake-ups (at most 1); for tests.</summary>
    internal int PendingSignals => _signal.CurrentCount;

    public void Start()
    {
        _writer ??= Task.Run(RunAsync);
    }

    /// <summary>Queues an entity whose state changed. The caller holds <see cref="PersistedEntity.SyncRoot"/>.</summary>
    /// <returns>The sequence number that covers this change.</returns>
    public long MarkDirty(PersistedEntity entity)
    {
        if (entity.IsQueued)
        {
            // Already queued and not yet snapshotted: the coming snapshot includes this change.
            return Volatile.Read(ref _enqueuedSeq);
        }

        entity.IsQueued = true;
        long seq;
        lock (_queueLock)
        {
            seq = ++_enqueuedSeq;
            _queue.Enqueue((entity, seq));
        }

        Signal();
        return seq;
    }

    /// <summary>Adds appended log bytes to the queue bound; a queue past a quarter of it needs the writer now.</summary>
    public void AddPendingBytes(long bytes)
    {
        if (Interlocked.Add(ref _pendingBytes, bytes) >= _options.MaxQueueBytes / 4)
        {
            Hurry();
        }
    }

    /// <summary>Gets whether an append must wait for queue space.</summary>
    public bool IsFull => Interlocked.Read(ref _pendingBytes) >= _options.MaxQueueBytes;

    /// <summary>Completes when the pending bytes drop below the bound.</summary>
    public Task WaitForSpaceAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_spaceLock)
        {
            if (!IsFull)
            {
                return Task.CompletedTask;
            }

            _spaceAvailable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _spaceAvailable.Task;
        }

        Hurry();
        _metrics.BackpressureWaits.Add(1);
        return wait.WaitAsync(cancellationToken);
    }

    /// <summary>Gets the sequence number of the latest change queued so far.</summary>
    public long CurrentSequence
    {
        get
        {
            lock (_queueLock)
            {
                return _enqueuedSeq;
            }
        }
    }

    /// <summary>Completes when every change up to <paramref name="target"/> is committed.</summary>
    public Task WaitForAsync(long target, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _committedSeq) >= target)
        {
            return Task.CompletedTask;
        }

        TaskCompletionSource tcs;
        lock (_waitLock)
        {
            if (Volatile.Read(ref _committedSeq) >= target)
            {
                return Task.CompletedTask;
            }

            if (_failure is not null)
            {
                return Task.FromException(Fail(_failure));
            }

            tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, tcs));
        }

        Signal();
        Hurry();
        return cancellationToken.CanBeCanceled ? tcs.Task.WaitAsync(cancellationToken) : tcs.Task;
    }

    /// <summary>Completes when everything queued so far is committed.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => WaitForAsync(CurrentSequence, cancellationToken);

    /// <summary>Drains the queue and stops the writer; gives up at the timeout or on cancellation and logs what was not persisted.</summary>
    public async Task StopAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            return;
        }

        _stopping = true;
        Signal();
        Hurry();
        try
        {
            await _writer.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await WaitForWriterAsync(AbortGrace).ConfigureAwait(false);
        }

        var left = QueueLength + _inFlightEntities;
        var bytes = PendingBytes;
        if (left > 0 || bytes > 0 || _state != WriterState.Healthy)
        {
            Log.StopIncomplete(_logger, left, bytes, LastError);
            lock (_waitLock)
            {
                _failure ??= new BuildStoreException($"The host stopped with {left} queued changes and {bytes} bytes of log text not persisted.", LastError);
                FaultWaiters(_failure);
            }
        }
    }

    private async Task RunAsync()
    {
        var token = _abort.Token;

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

                if (!TryTakeBatch(Volatile.Read(ref _committedSeq), prepare: false, token, out current!))
                {
                    await Task.Delay(_options.RetryMaxDelay, _time, token).ConfigureAwait(false);
                    continue;
                }
            }

            _inFlightEntities = current.Builder.Entities.Count;
            var commit = current.Builder.Count > 0 || current.Builder.Entities.Count > 0
                ? CommitWithRetriesAsync(current, token)
                : Task.FromResult(true);

            // While this batch is applied, take the next one as soon as something is queued and let the store
            // prepare it (compress its logs, say) on another thread, so that work overlaps this batch's I/O instead
            // of following it. The next batch is applied only after this one completes, so the order of writes is
            // unchanged. The commit's completion wakes this wait like a queued change does.
            if (!commit.IsCompleted && !_stopping)
            {
                _ = commit.ContinueWith(static (_, state) => ((WritePipeline)state!).Signal(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                while (!commit.IsCompleted)
                {
                    // Worth preparing only once enough log text waits: taking every single change at once would
                    // cut the stream into many tiny batches, each with its own transaction.
                    if (QueueLength > 0 && PendingBytes - current.Builder.LogBytes >= PrepareAheadBytes)
                    {
                        if (TryTakeBatch(current.LastSeq, prepare: true, token, out var taken))
                        {
                            next = taken;
                            _inFlightEntities = current.Builder.Entities.Count + taken.Builder.Entities.Count;
                        }

                        break;
                    }

                    await _signal.WaitAsync(token).ConfigureAwait(false);
                    Volatile.Write(ref _signalled, 0);
                }
            }

            var committed = await commit.ConfigureAwait(false);
            _inFlightEntities = next?.Builder.Entities.Count ?? 0;

            if (committed)
            {
                foreach (var (entity, snapshot) in current.Builder.Entities)
                {
                    entity.OnCommitted(snapshot);
                }
            }
            else
            {
                FaultWaitersUpTo(current.LastSeq, LastError!);
            }

            var remaining = Interlocked.Add(ref _pendingBytes, -current.Builder.LogBytes);
            Volatile.Write(ref _committedSeq, current.LastSeq);
            ReleaseSpace(remaining);
            CompleteWaiters(current.LastSeq);
        }
    }

    /// <summary>Takes the next batch; on a snapshot defect, reports it and returns <see langword="false"/>.</summary>
    private bool TryTakeBatch(long floorSeq, bool prepare, CancellationToken token, out TakenBatch taken)
    {
        try
        {
            var builder = TakeBatch(floorSeq, out var lastSeq);
            var batch = builder.ToBatch();
            var prepared = prepare && !batch.IsEmpty ? PrepareAsync(batch, token) : Task.CompletedTask;
            taken = new TakenBatch(builder, batch, lastSeq, prepared);
            return true;
        }
        catch (Exception ex)
        {
            // A snapshot threw: a defect, not a storage failure. Keep the writer alive, report it, and let
            // the entities be snapshotted again on the next round.
            Log.SnapshotFailed(_logger, ex);
            LastError = ex;
            _state = WriterState.Failed;
            lock (_waitLock)
            {
                _failure = ex;
                FaultWaiters(ex);
            }

            taken = null!;
            return false;
        }
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

    /// <summary>A batch the writer has taken: its snapshots, the batch the store sees, the sequence it covers, and its preparation.</summary>
    private sealed record TakenBatch(BatchBuilder Builder, WriteBatch Batch, long LastSeq, Task Prepared);

    /// <summary>
    /// After waking from idle for a change nobody waits for, gathers changes for up to
    /// <see cref="BuildStatusOptions.GroupCommitDelay"/> (real time: a scheduling detail, not a timestamp), unless
    /// something needs the writer now.
    /// </summary>
    private async ValueTask GroupCommitDelayAsync(CancellationToken token)
    {
        var delay = _options.GroupCommitDelay;
        if (delay <= TimeSpan.Zero || _stopping || HasWaiters || PendingBytes >= _options.MaxQueueBytes / 4)
        {
            return;
        }

        if (await _urgent.WaitAsync(delay, token).ConfigureAwait(false))
        {
            Volatile.Write(ref _urgentSignalled, 0);
        }
    }

    private bool HasWaiters
    {
        get
        {
            lock (_waitLock)
            {
                return _waiters.Count > 0;
            }
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

    private BatchBuilder TakeBatch(long floorSeq, out long lastSeq)
    {
        var batch = new BatchBuilder();
        lastSeq = floorSeq;
        while (batch.Count < _options.MaxBatchSize && batch.LogBytes < _options.MaxBatchBytes)
        {
            (PersistedEntity Entity, long Seq) item;
            lock (_queueLock)
            {
                // An entity changed again after its snapshot was taken for this batch is queued anew; a batch lists
                // each key at most once (WriteBatch contract), so that change waits for the next batch.
                if (!_queue.TryPeek(out item) || batch.Contains(item.Entity))
                {
                    break;
                }

                _queue.Dequeue();
            }

            batch.AddEntity(item.Entity);

            lock (item.Entity.SyncRoot)
            {
                item.Entity.IsQueued = false;
                try
                {
                    item.Entity.AppendTo(batch);
                }
                catch
                {
                    MarkDirty(item.Entity);
                    throw;
                }
            }

            lastSeq = item.Seq;
        }

        return batch;
    }

    /// <summary>Commits a batch, retrying with backoff.</summary>
    /// <returns><see langword="true"/> when committed; <see langword="false"/> when the backend rejected the batch as
    /// malformed (<see cref="ArgumentException"/>) on every attempt, so it was dropped.</returns>
    private async Task<bool> CommitWithRetriesAsync(TakenBatch taken, CancellationToken token)
    {
        var batch = taken.Batch;
        await taken.Prepared.ConfigureAwait(false);
        var attempt = 0;
        while (true)
        {
            attempt++;
            var started = _time.GetTimestamp();
            try
            {
                await _store.ApplyAsync(batch, token).ConfigureAwait(false);
                _metrics.CommitLatency.Record(_time.GetElapsedTime(started).TotalMilliseconds);
                _metrics.BatchSize.Record(batch.Count);
                if (_state != WriterState.Healthy)
                {
                    Log.Recovered(_logger, attempt);
                    _state = WriterState.Healthy;
                    LastError = null;
                    lock (_waitLock)
                    {
                        _failure = null;
                    }
                }

                return true;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw;
            }
            catch (ArgumentException ex) when (attempt >= _options.MaxWriteAttempts)
            {
                // The backend says the batch itself is invalid: retrying cannot help, and keeping it would block
                // every later write. Drop it loudly; the durability tasks that covered it fault.
                LastError = ex;
                Interlocked.Increment(ref _rejectedBatches);
                _metrics.RejectedBatches.Add(1);
                Log.BatchRejected(_logger, ex, batch.Count, attempt);
                return false;
            }
            catch (Exception ex)
            {
                LastError = ex;
                _metrics.CommitFailures.Add(1);
                Interlocked.Increment(ref _retryCount);
                if (attempt >= _options.MaxWriteAttempts && _state != WriterState.Failed)
                {
                    _state = WriterState.Failed;
                    Log.WriterFailed(_logger, ex, attempt);
                    lock (_waitLock)
                    {
                        _failure = ex;
                        FaultWaiters(ex);
                    }
                }
                else if (_state == WriterState.Healthy)
                {
                    _state = WriterState.Retrying;
                    Log.CommitFailed(_logger, ex, batch.Count);
                }

                _metrics.Retries.Add(1);
                if (_stopping && _state == WriterState.Failed)
                {
                    // A graceful stop does not wait for a backend that is down.
                    throw new OperationCanceledException("Stopping with a failed backend.", ex);
                }

                await Task.Delay(RetryDelay(attempt), _time, token).ConfigureAwait(false);
            }
        }
    }

    internal TimeSpan RetryDelay(int attempt)
    {
        var ms = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(ms, _options.RetryMaxDelay.TotalMilliseconds);

        // Jitter of up to 20 % so several hosts on one database do not retry in lockstep.
        return TimeSpan.FromMilliseconds(capped * (0.8 + (0.2 * Random.Shared.NextDouble())));
    }

    private void FaultWaitersUpTo(long target, Exception cause)
    {
        var error = Fail(cause);
        List<TaskCompletionSource>? faulted = null;
        lock (_waitLock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target <= target)
                {
                    (faulted ??= []).Add(_waiters[i].Tcs);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (faulted is not null)
        {
            foreach (var tcs in faulted)
            {
                tcs.TrySetException(error);
            }
        }
    }

    private void ReleaseSpace(long remaining)
    {
        if (remaining >= _options.MaxQueueBytes)
        {
            return;
        }

        TaskCompletionSource? release;
        lock (_spaceLock)
        {
            release = _spaceAvailable;
            _spaceAvailable = null;
        }

        release?.TrySetResult();
    }

    private void CompleteWaiters(long committed)
    {
        List<TaskCompletionSource>? done = null;
        lock (_waitLock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target <= committed)
                {
                    (done ??= []).Add(_waiters[i].Tcs);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (done is not null)
        {
            foreach (var tcs in done)
            {
                tcs.TrySetResult();
            }
        }
    }

    // Caller holds _waitLock.
    private void FaultWaiters(Exception cause)
    {
        var error = Fail(cause);
        foreach (var (_, tcs) in _waiters)
        {
            tcs.TrySetException(error);
        }

        _waiters.Clear();
    }

    private static BuildStoreException Fail(Exception cause)
        => cause as BuildStoreException ?? new BuildStoreException($"Storage failed: {cause.Message}", cause);

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
            await _writer.WaitAsync(grace, _time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The abort.
        }
        catch (TimeoutException)
        {
            Log.WriterAbandoned(_logger, grace);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _abort.CancelAsync().ConfigureAwait(false);
        await WaitForWriterAsync(AbortGrace).ConfigureAwait(false);

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
        [LoggerMessage(1, LogLevel.Warning, "Storage commit of {Count} writes failed; retrying with backoff.")]
        public static partial void CommitFailed(ILogger logger, Exception exception, int count);

        [LoggerMessage(2, LogLevel.Error, "Storage failed {Attempts} times in a row; durability tasks now fault. Writes stay queued and are retried.")]
        public static partial void WriterFailed(ILogger logger, Exception exception, int attempts);

        [LoggerMessage(3, LogLevel.Information, "Storage recovered after {Attempts} attempts.")]
        public static partial void Recovered(ILogger logger, int attempts);

        [LoggerMessage(7, LogLevel.Critical, "The storage backend rejected a batch of {Count} writes as invalid {Attempts} times; it was dropped so later writes are not blocked. This is a defect: please report it.")]
        public static partial void BatchRejected(ILogger logger, Exception exception, int count, int attempts);

        [LoggerMessage(8, LogLevel.Warning, "The storage backend failed to prepare a batch ahead of time; it will do that work when the batch is applied.")]
        public static partial void PrepareFailed(ILogger logger, Exception exception);

        [LoggerMessage(5, LogLevel.Critical, "Taking a snapshot for storage failed; the writer keeps running and tries again.")]
        public static partial void SnapshotFailed(ILogger logger, Exception exception);

        [LoggerMessage(6, LogLevel.Error, "The storage writer did not stop within {Grace} of being cancelled (a backend call ignores cancellation); it was abandoned.")]
        public static partial void WriterAbandoned(ILogger logger, TimeSpan grace);

        [LoggerMessage(4, LogLevel.Error, "Stopped with {Entries} queued changes and {Bytes} bytes of log text not persisted.")]
        public static partial void StopIncomplete(ILogger logger, int entries, long bytes, Exception? exception);
    }
}
