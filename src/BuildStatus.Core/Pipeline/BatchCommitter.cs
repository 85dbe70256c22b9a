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
/// Commits one batch: retries transient failures with backoff and jitter, and when the backend rejects the batch
/// (<see cref="BatchRejectedException"/>, the only exception that means "never"), commits everything but the
/// offending entities' snapshots, which it quarantines. Used by the writer task only; its health fields are read
/// anywhere.
/// </summary>
internal sealed partial class BatchCommitter
{
    private readonly IBuildStore _store;
    private readonly BuildStatusOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly ILogger _logger;
    private readonly BuildStatusMetrics _metrics;
    private readonly DurabilityWaiters _waiters;

    // Written by the writer task; read anywhere.
    private volatile WriterState _state = WriterState.Healthy;
    private volatile Exception? _lastError;
    private long _retryCount;
    private long _quarantined;

    private readonly Func<long?> _instanceId;

    public BatchCommitter(IBuildStore store, BuildStatusOptions options, TimeProvider time, Func<double> random, ILogger logger, BuildStatusMetrics metrics, DurabilityWaiters waiters, Func<long?> instanceId)
    {
        _instanceId = instanceId;
        _store = store;
        _options = options;
        _time = time;
        _random = random;
        _logger = logger;
        _metrics = metrics;
        _waiters = waiters;
    }

    public WriterState State => _state;

    public Exception? LastError => _lastError;

    public long RetryCount => Interlocked.Read(ref _retryCount);

    /// <summary>Gets how many entity snapshots were quarantined (rejected by the backend, never to be stored).</summary>
    public long Quarantined => Interlocked.Read(ref _quarantined);

    /// <summary>Gets or sets the fencing handler (see <see cref="WritePipeline.OnFenced"/>); written before start.</summary>
    public Func<InstanceFencedException, Task>? OnFenced { get; set; }

    /// <summary>Set by a stop: a backend that has failed is no longer waited for.</summary>
    public volatile bool Stopping;

    /// <summary>
    /// Commits <paramref name="snapshots"/>; tells each entity whether its snapshot was committed or dropped, in order.
    /// Throws only <see cref="OperationCanceledException"/> (an abort, or a stop with a failed backend).
    /// </summary>
    public async Task CommitAsync(IReadOnlyList<EntitySnapshot> snapshots, WriteBatch whole, Task prepared, CancellationToken token)
    {
        await prepared.ConfigureAwait(false);

        // Groups still to commit, in queue order: a rejected group is replaced by its parts, first part on top.
        var work = new Stack<IReadOnlyList<EntitySnapshot>>();
        work.Push(snapshots);
        while (work.TryPop(out var group))
        {
            // Snapshots of builds this host lost (its instance was fenced, another finished them) are never written,
            // whichever instance the batch would now be stamped with.
            if (group.Any(static s => s.Entity.IsLost))
            {
                foreach (var lost in group.Where(static s => s.Entity.IsLost))
                {
                    DropLost(lost);
                }

                group = group.Where(static s => !s.Entity.IsLost).ToArray();
                if (group.Count == 0)
                {
                    continue;
                }
            }

            var batch = ReferenceEquals(group, snapshots) && whole.InstanceId == _instanceId() ? whole : BatchBuilder.ToBatch(group, _instanceId());
            BatchRejectedException? rejection;
            try
            {
                rejection = await ApplyWithRetriesAsync(batch, token).ConfigureAwait(false);
            }
            catch (InstanceFencedException fenced) when (OnFenced is { } onFenced)
            {
                // This instance was claimed by another, which finished its builds. Once a new instance is registered,
                // the group goes round again: what belongs to the lost builds is dropped above, the rest is written.
                await onFenced(fenced).WaitAsync(token).ConfigureAwait(false);
                work.Push(group);
                continue;
            }

            if (rejection is null)
            {
                foreach (var snapshot in group)
                {
                    snapshot.Entity.OnCommitted(snapshot);
                }

                continue;
            }

            var named = group.Count == 1 ? group : group.Where(s => s.IsNamedBy(rejection.Keys)).ToArray();
            if (named.Count > 0)
            {
                foreach (var snapshot in named)
                {
                    Quarantine(snapshot, rejection);
                }

                var rest = group.Where(s => !named.Contains(s)).ToArray();
                if (rest.Length > 0)
                {
                    work.Push(rest);
                }
            }
            else
            {
                // The backend did not say which rows: halve until the offending snapshots are alone.
                var half = group.Count / 2;
                work.Push(group.Skip(half).ToArray());
                work.Push(group.Take(half).ToArray());
            }
        }
    }

    /// <summary>Drops the snapshot of an entity whose build this host lost (its instance was fenced): never written.</summary>
    public void DropLost(EntitySnapshot snapshot)
    {
        var fenced = new InstanceFencedException("The build was lost: this host's instance was fenced and another instance finished it.");
        snapshot.Entity.OnDropped(snapshot, fenced);
        _waiters.Dropped(snapshot.Seq, fenced);
    }

    private void Quarantine(EntitySnapshot snapshot, BatchRejectedException rejection)
    {
        Interlocked.Increment(ref _quarantined);
        _metrics.Quarantined.Add(1);
        _lastError = rejection;
        Log.Quarantined(_logger, rejection, snapshot.Key?.ToString() ?? snapshot.ToString(), snapshot.Count);
        snapshot.Entity.OnDropped(snapshot, rejection);
        _waiters.Dropped(snapshot.Seq, rejection);
    }

    /// <summary>Applies a batch, retrying transient failures.</summary>
    /// <returns><see langword="null"/> once applied; the rejection when the backend says it can never succeed.</returns>
    private async Task<BatchRejectedException?> ApplyWithRetriesAsync(WriteBatch batch, CancellationToken token)
    {
        // What needs no stored state is checked here, before any store sees the batch (the SPI lets stores rely on it).
        try
        {
            WriteBatch.Validate(batch);
        }
        catch (BatchRejectedException ex)
        {
            _metrics.RejectedBatches.Add(1);
            return ex;
        }

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
                    _lastError = null;
                    _waiters.ClearFailure();
                }

                return null;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw;
            }
            catch (InstanceFencedException) when (OnFenced is not null)
            {
                throw;
            }
            catch (BatchRejectedException ex)
            {
                _metrics.RejectedBatches.Add(1);
                return ex;
            }
            catch (Exception ex)
            {
                _lastError = ex;
                _metrics.CommitFailures.Add(1);
                Interlocked.Increment(ref _retryCount);
                if (attempt >= _options.MaxWriteAttempts && _state != WriterState.Failed)
                {
                    _state = WriterState.Failed;
                    Log.WriterFailed(_logger, ex, attempt);
                    _waiters.Fail(ex);
                }
                else if (_state == WriterState.Healthy)
                {
                    _state = WriterState.Retrying;
                    Log.CommitFailed(_logger, ex, batch.Count);
                }

                _metrics.Retries.Add(1);
                if (Stopping && _state == WriterState.Failed)
                {
                    // A graceful stop does not wait for a backend that is down.
                    throw new OperationCanceledException("Stopping with a failed backend.", ex);
                }

                await Task.Delay(RetryDelay(attempt), _time, token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The backoff before retry <paramref name="attempt"/> + 1: doubling from RetryBaseDelay, capped at RetryMaxDelay, with jitter.</summary>
    public TimeSpan RetryDelay(int attempt)
    {
        var ms = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(ms, _options.RetryMaxDelay.TotalMilliseconds);

        // Jitter of up to 20 % so several hosts on one database do not retry in lockstep.
        return TimeSpan.FromMilliseconds(capped * (0.8 + (0.2 * _random())));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Storage commit of {Count} writes failed; retrying with backoff.")]
        public static partial void CommitFailed(ILogger logger, Exception exception, int count);

        [LoggerMessage(2, LogLevel.Error, "Storage failed {Attempts} times in a row; durability tasks now fault. Writes stay queued and are retried.")]
        public static partial void WriterFailed(ILogger logger, Exception exception, int attempts);

        [LoggerMessage(3, LogLevel.Information, "Storage recovered after {Attempts} attempts.")]
        public static partial void Recovered(ILogger logger, int attempts);

        [LoggerMessage(7, LogLevel.Error, "The storage backend rejected the writes of {Key} ({Count} rows) as impossible; they were quarantined (never stored) and the rest of the batch was committed.")]
        public static partial void Quarantined(ILogger logger, Exception exception, string key, int count);
    }
}
