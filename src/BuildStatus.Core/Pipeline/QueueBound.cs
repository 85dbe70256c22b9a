namespace BuildStatus.Pipeline;

/// <summary>
/// Backpressure: the bytes of log text (whole lines and partial ones) appended but not yet committed or dropped,
/// against <see cref="BuildStatusOptions.MaxQueueBytes"/>. Appends wait for space while it is full.
/// </summary>
internal sealed class QueueBound
{
    private readonly long _max;

    // Interlocked.
    private long _pending;

    // Guards _space (completed when the pending bytes drop below the bound) and _stopped.
    private readonly Lock _lock = new();
    private TaskCompletionSource? _space;
    private Exception? _stopped;

    public QueueBound(long max)
    {
        _max = max;
    }

    public long Pending => Interlocked.Read(ref _pending);

    public bool IsFull => Interlocked.Read(ref _pending) >= _max;

    public bool IsNearBound => Pending >= _max * 8 / 10;

    /// <summary>Adds (or, negative, removes) bytes; returns the new total.</summary>
    public long Add(long bytes)
    {
        var total = Interlocked.Add(ref _pending, bytes);
        if (bytes < 0 && total < _max)
        {
            ReleaseWaiters();
        }

        return total;
    }

    /// <summary>Completes when there is room again (at once when there is); faults once the host has stopped.</summary>
    /// <returns>The wait, and whether it must wait at all.</returns>
    public Task WaitForSpaceAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            if (_stopped is not null)
            {
                return Task.FromException(_stopped);
            }

            if (!IsFull)
            {
                return Task.CompletedTask;
            }

            _space ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _space.Task;
        }

        return wait.WaitAsync(cancellationToken);
    }

    /// <summary>The host stopped: appends waiting for space fault with <paramref name="cause"/>.</summary>
    public void Stop(Exception cause)
    {
        TaskCompletionSource? space;
        lock (_lock)
        {
            _stopped ??= cause;
            space = _space;
            _space = null;
        }

        space?.TrySetException(cause);
    }

    private void ReleaseWaiters()
    {
        TaskCompletionSource? release;
        lock (_lock)
        {
            release = _space;
            _space = null;
        }

        release?.TrySetResult();
    }
}
