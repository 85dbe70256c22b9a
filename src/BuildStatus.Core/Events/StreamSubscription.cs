using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace BuildStatus.Events;

/// <summary>
/// The subscriber behind one <see cref="EventHub.WatchAsync"/> stream, and the stream itself. Its consumer is the
/// stream's enumerator.
/// </summary>
/// <remarks>
/// <para>
/// Registered eagerly, when <see cref="EventHub.WatchAsync"/> is called, so no event published after that call is
/// missed. It is unregistered when the enumeration ends for any reason (the end of the stream, an exception, the
/// consumer breaking out, cancellation) or its enumerator is disposed, when the token passed to
/// <see cref="EventHub.WatchAsync"/> is cancelled before <see cref="GetAsyncEnumerator"/> is called, or when the hub
/// is disposed. A stream obtained and never enumerated stays registered until one of the last two happens. It
/// can be enumerated once: a second <see cref="GetAsyncEnumerator"/> throws <see cref="InvalidOperationException"/>.
/// </para>
/// <para>
/// The consumer waits on this object as an <see cref="IValueTaskSource{TResult}"/>, so an idle wait allocates
/// nothing on the publishing side; the continuation runs on the thread pool, never on the publishing thread.
/// Threading: <c>_waiter</c> is reset by the consumer only, before it arms a wait in <see cref="Subscriber.TakeBatch"/>,
/// and completed exactly once per wait by whoever disarms it under the subscriber's lock (a publisher, closing, or
/// the cancellation callback). <c>_enumerating</c> is set once, atomically; <c>_earlyCancellation</c> and
/// <c>_watchToken</c> are set by <see cref="EventHub.WatchAsync"/> before the stream is returned.
/// </para>
/// </remarks>
internal sealed class StreamSubscription : Subscriber, IAsyncEnumerable<StatusEvent>, IValueTaskSource<bool>
{
    private static readonly Action<object?, CancellationToken> CancelWaitCallback =
        static (state, token) => ((StreamSubscription)state!).CancelWait(token);

    private ManualResetValueTaskSourceCore<bool> _waiter = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _earlyCancellation;
    private CancellationToken _watchToken;
    private int _enumerating;

    /// <summary>Initializes a new instance of the <see cref="StreamSubscription"/> class.</summary>
    /// <param name="hub">The hub.</param>
    /// <param name="filter">The filter, or <see langword="null"/>.</param>
    /// <param name="capacity">The buffer capacity.</param>
    /// <param name="maxBytes">The buffer's bound in bytes of log text.</param>
    public StreamSubscription(EventHub hub, StatusEventFilter? filter, int capacity, long maxBytes)
        : base(hub, filter, capacity, maxBytes)
    {
    }

    /// <summary>Unregisters the stream if <paramref name="cancellationToken"/> is cancelled before its enumeration starts.</summary>
    /// <param name="cancellationToken">The token passed to <see cref="EventHub.WatchAsync"/>.</param>
    internal void DisposeWhenCancelledEarly(CancellationToken cancellationToken)
    {
        _watchToken = cancellationToken;
        _earlyCancellation = cancellationToken.UnsafeRegister(static state => ((StreamSubscription)state!).Dispose(), this);
    }

    /// <summary>Starts the one enumeration of this stream.</summary>
    /// <param name="cancellationToken">Ends the enumeration, like the token passed to <see cref="EventHub.WatchAsync"/>.</param>
    /// <returns>The enumerator; disposing it unregisters the stream.</returns>
    /// <exception cref="InvalidOperationException">The stream is already being enumerated.</exception>
    public IAsyncEnumerator<StatusEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerating, 1) != 0)
        {
            throw new InvalidOperationException("A stream returned by WatchAsync can be enumerated once; call WatchAsync again for another.");
        }

        // From here on the enumerator's own token and disposal take over.
        _earlyCancellation.Dispose();
        return new Enumerator(this, ReadAllAsync(_watchToken).GetAsyncEnumerator(cancellationToken));
    }

    // Yields the buffered events until the subscription closes (the stream ends) or the token is cancelled
    // (MoveNextAsync throws OperationCanceledException). The token is the one passed to WatchAsync, combined by
    // the compiler with the one passed to GetAsyncEnumerator/WithCancellation.
    private async IAsyncEnumerable<StatusEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
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

    // Wraps the iterator's enumerator so that disposing an enumerator that never moved (which skips the
    // iterator's finally block) still unregisters the stream.
    private sealed class Enumerator(StreamSubscription owner, IAsyncEnumerator<StatusEvent> inner) : IAsyncEnumerator<StatusEvent>
    {
        public StatusEvent Current => inner.Current;

        public ValueTask<bool> MoveNextAsync() => inner.MoveNextAsync();

        public async ValueTask DisposeAsync()
        {
            try
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                owner.Dispose();
            }
        }
    }
}
