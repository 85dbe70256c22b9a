namespace BuildStatus.Pipeline;

/// <summary>
/// Backpressure: the bytes of log text appended but not yet committed or dropped — whole lines, and the partial lines
/// that logs hold until their <c>'\n'</c> (two bytes a char) — against <see cref="BuildStatusOptions.MaxQueueBytes"/>.
/// Appends wait for space while it is full. Only committing whole lines releases space, so the bound is full only
/// while some whole lines wait: partial lines alone (each at most <see cref="BuildStatusOptions.MaxLineLength"/> chars)
/// never make an append wait forever.
/// </summary>
internal sealed class QueueBound
{
    private readonly long _max;

    // Interlocked: _pending counts both kinds of bytes; _lines only whole lines (what commits release).
    private long _pending;
    private long _lines;

    // Guards _space (completed when the pending bytes drop below the bound) and _stopped.
    private readonly Lock _lock = new();
    private TaskCompletionSource? _space;
    private Exception? _stopped;

    public QueueBound(long max)
    {
        _max = max;
    }

    public long Pending => Interlocked.Read(ref _pending);

    public bool IsFull => Interlocked.Read(ref _pending) >= _max && Interlocked.Read(ref _lines) > 0;

    public bool IsNearBound => Pending >= _max * 8 / 10;

    /// <summary>Adds (or, negative, removes) bytes of whole lines and of partial lines; returns the new total.</summary>
    public long Add(long lineBytes, long partialBytes = 0)
    {
        var lines = lineBytes == 0 ? Interlocked.Read(ref _lines) : Interlocked.Add(ref _lines, lineBytes);
        var total = Interlocked.Add(ref _pending, lineBytes + partialBytes);
        if ((lineBytes < 0 || partialBytes < 0) && (total < _max || lines <= 0))
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
