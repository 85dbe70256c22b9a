// Compiled into Core (the in-memory store) and each storage backend (linked from src/Shared), in its own namespace.
#if BUILDSTATUS_POSTGRES
namespace BuildStatus.Storage.Postgres.Internal;
#elif BUILDSTATUS_CORE
namespace BuildStatus.Internal;
#else
namespace BuildStatus.Storage.Sqlite.Internal;
#endif

/// <summary>
/// The wake-up behind <c>IBuildEventFeed.WaitForEventsAsync</c>: <see cref="Notify"/> records the newest event
/// sequence known to be committed (0 when unknown) and wakes every waiter; <see cref="WaitAsync"/> returns at once when
/// a sequence above the caller's is known, else at the next notification or after the timeout.
/// </summary>
/// <remarks>Threading: <c>_newest</c> and <c>_next</c> are guarded by <c>_gate</c>; any thread may notify or wait.</remarks>
internal sealed class SequenceSignal
{
    private readonly Lock _gate = new();
    private long _newest;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Records <paramref name="sequence"/> (if higher than known) and wakes every waiter.</summary>
    public void Notify(long sequence)
    {
        TaskCompletionSource woken;
        lock (_gate)
        {
            _newest = Math.Max(_newest, sequence);
            woken = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        woken.TrySetResult();
    }

    /// <summary>Waits for a sequence above <paramref name="afterSequence"/>, the next notification, or the timeout.</summary>
    /// <returns><see langword="true"/> when notified; <see langword="false"/> on timeout.</returns>
    public async Task<bool> WaitAsync(long afterSequence, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Task next;
        lock (_gate)
        {
            if (_newest > afterSequence)
            {
                return true;
            }

            next = _next.Task;
        }

        try
        {
            await next.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
