using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace BuildStatus.Events;

/// <summary>The subscriber behind one <see cref="EventHub.WatchAsync"/> stream. Its consumer is the stream's enumerator.</summary>
/// <remarks>
/// <para>
/// Registered eagerly, when <see cref="EventHub.WatchAsync"/> is called, so no event published after that call is
/// missed. It is unregistered when the enumeration ends for any reason (the end of the stream, an exception, the
/// consumer breaking out, cancellation), when the token passed to <see cref="EventHub.WatchAsync"/> is cancelled
/// before the enumeration starts, or when the hub is disposed. A stream obtained and never enumerated stays
/// registered until one of the last two happens. It can be enumerated once.
/// </para>
/// <para>
/// The consumer waits on this object as an <see cref="IValueTaskSource{TResult}"/>, so an idle wait allocates
/// nothing on the publishing side; the continuation runs on the thread pool, never on the publishing thread.
/// Threading: <c>_waiter</c> is reset by the consumer only, before it arms a wait in <see cref="Subscriber.TakeBatch"/>,
/// and completed exactly once per wait by whoever disarms it under the subscriber's lock (a publisher, closing, or
/// the cancellation callback). <c>_enumerating</c> and <c>_earlyCancellation</c> are set once.
/// </para>
/// </remarks>
internal sealed class StreamSubscription : Subscriber, IValueTaskSource<bool>
{
    private static readonly Action<object?, CancellationToken> CancelWaitCallback =
        static (state, token) => ((StreamSubscription)state!).CancelWait(token);

    private ManualResetValueTaskSourceCore<bool> _waiter = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _earlyCancellation;
    private int _enumerating;

    /// <summary>Initializes a new instance of the <see cref="StreamSubscription"/> class.</summary>
    /// <param name="hub">The hub.</param>
    /// <param name="filter">The filter, or <see langword="null"/>.</param>
    /// <param name="capacity">The buffer capacity.</param>
    public StreamSubscription(EventHub hub, StatusEventFilter? filter, int capacity)
        : base(hub, filter, capacity)
    {
    }

    /// <summary>Unregisters the stream if <paramref name="cancellationToken"/> is cancelled before its enumeration starts.</summary>
    /// <param name="cancellationToken">The token passed to <see cref="EventHub.WatchAsync"/>.</param>
    internal void DisposeWhenCancelledEarly(CancellationToken cancellationToken)
        => _earlyCancellation = cancellationToken.UnsafeRegister(static state => ((StreamSubscription)state!).Dispose(), this);

    /// <summary>Yields the buffered events until the subscription closes or <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="cancellationToken">
    /// The token passed to <see cref="EventHub.WatchAsync"/>, combined by the compiler with the one passed to
    /// <c>WithCancellation</c>/<c>GetAsyncEnumerator</c>.
    /// </param>
    /// <returns>The stream.</returns>
    /// <exception cref="OperationCanceledException">From <c>MoveNextAsync</c>, once the token is cancelled.</exception>
    /// <exception cref="InvalidOperationException">From <c>MoveNextAsync</c>, when the stream is enumerated a second time.</exception>
    internal async IAsyncEnumerable<StatusEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _enumerating, 1) != 0)
        {
            throw new InvalidOperationException("A stream returned by WatchAsync can be enumerated once; call WatchAsync again for another.");
        }

        try
        {
            // From here on the enumerator's own token and finally block take over.
            _earlyCancellation.Dispose();

            var batch = new StatusEvent?[BatchArrayLength];
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _waiter.Reset();
                int count = TakeBatch(batch);
                if (count < 0)
                {
                    yield break;
                }

                if (count == 0)
                {
                    using (cancellationToken.UnsafeRegister(CancelWaitCallback, this))
                    {
                        await new ValueTask<bool>(this, _waiter.Version).ConfigureAwait(false);
                    }

                    continue;
                }

                for (int i = 0; i < count; i++)
                {
                    var statusEvent = batch[i]!;
                    batch[i] = null;
                    if (IsClosed)
                    {
                        yield break;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    yield return statusEvent;
                }
            }
        }
        finally
        {
            Dispose();
        }
    }

    /// <inheritdoc/>
    bool IValueTaskSource<bool>.GetResult(short token) => _waiter.GetResult(token);

    /// <inheritdoc/>
    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _waiter.GetStatus(token);

    /// <inheritdoc/>
    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _waiter.OnCompleted(continuation, state, token, flags);

    /// <inheritdoc/>
    protected override void Wake() => _waiter.SetResult(true);

    private void CancelWait(CancellationToken cancellationToken)
    {
        if (TryDisarmWait())
        {
            _waiter.SetException(new OperationCanceledException(cancellationToken));
        }
    }
}
