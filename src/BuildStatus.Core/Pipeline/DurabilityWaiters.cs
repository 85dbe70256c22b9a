using BuildStatus.Storage;

namespace BuildStatus.Pipeline;

/// <summary>
/// The tasks that wait for durability: each waits until the writer has committed every queue entry up to its
/// target sequence. A flush also faults when an entry it covers was dropped (quarantined); an entity's own tasks
/// (a build's <c>FinishAsync</c>) check their entity instead.
/// </summary>
internal sealed class DurabilityWaiters
{
    // Guards _waiters, _failure and _stopped.
    private readonly Lock _lock = new();
    private readonly List<Waiter> _waiters = [];
    private Exception? _failure;
    private Exception? _stopped;

    // Written by the writer task only (under _lock, so a new waiter never misses an advance); read anywhere.
    private long _committed;

    public long Committed => Volatile.Read(ref _committed);

    public bool HasWaiters
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count > 0;
            }
        }
    }

    /// <summary>
    /// Completes when every entry up to <paramref name="target"/> is committed. With a <paramref name="dropFloor"/>,
    /// faults when an entry above it and up to the target is dropped.
    /// </summary>
    /// <returns>The task, or <see langword="null"/> when it was already satisfied.</returns>
    public Task? Wait(long target, long dropFloor)
    {
        lock (_lock)
        {
            if (_committed >= target)
            {
                return null;
            }

            if (_stopped is not null)
            {
                return Task.FromException(_stopped);
            }

            if (_failure is not null)
            {
                return Task.FromException(AsStoreFailure(_failure));
            }

            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add(new Waiter(target, dropFloor, tcs));
            return tcs.Task;
        }
    }

    /// <summary>Called by the writer once every entry up to <paramref name="seq"/> is committed or dropped.</summary>
    public void Advance(long seq)
    {
        List<TaskCompletionSource>? done = null;
        lock (_lock)
        {
            _committed = Math.Max(_committed, seq);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target <= _committed)
                {
                    (done ??= []).Add(_waiters[i].Tcs);
                    _waiters.RemoveAt(i);
                }
            }
        }

        done?.ForEach(static t => t.TrySetResult());
    }

    /// <summary>Faults the flushes that cover the dropped entry <paramref name="seq"/>.</summary>
    public void Dropped(long seq, Exception cause)
    {
        List<TaskCompletionSource>? faulted = null;
        lock (_lock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var w = _waiters[i];
                if (w.DropFloor < seq && seq <= w.Target)
                {
                    (faulted ??= []).Add(w.Tcs);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (faulted is not null)
        {
            var error = new BuildStoreException($"Changes covered by this flush were rejected by the storage backend and dropped: {cause.Message}", cause);
            faulted.ForEach(t => t.TrySetException(error));
        }
    }

    /// <summary>Retries were exhausted: every waiter faults, and so do new waits until <see cref="ClearFailure"/>.</summary>
    public void Fail(Exception cause)
    {
        lock (_lock)
        {
            _failure = cause;
            FaultAllLocked(AsStoreFailure(cause));
        }
    }

    public void ClearFailure()
    {
        lock (_lock)
        {
            _failure = null;
        }
    }

    /// <summary>The host stopped: every waiter faults with <paramref name="cause"/>, and so does every later wait that is not satisfied.</summary>
    public void Stop(Exception cause)
    {
        lock (_lock)
        {
            _stopped ??= cause;
            FaultAllLocked(_stopped);
        }
    }

    // Caller holds _lock.
    private void FaultAllLocked(Exception error)
    {
        foreach (var w in _waiters)
        {
            w.Tcs.TrySetException(error);
        }

        _waiters.Clear();
    }

    public static BuildStoreException AsStoreFailure(Exception cause)
        => cause as BuildStoreException ?? new BuildStoreException($"Storage failed: {cause.Message}", cause);

    private readonly record struct Waiter(long Target, long DropFloor, TaskCompletionSource Tcs);
}
