using Microsoft.Extensions.Logging;

namespace BuildStatus.Events;

/// <summary>
/// Fans status events out to subscribers: callback receivers (<see cref="Subscribe"/>) and streams
/// (<see cref="WatchAsync"/>), each with its own filter and bounded buffer.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Publish"/> runs on the thread that changed the status, possibly under that build's lock, so it only
/// filters and appends to each subscriber's buffer (see <see cref="Subscriber"/>): it never waits for a
/// subscriber, never throws and allocates nothing per event. A full buffer drops the event and counts it; the
/// subscriber later gets an <see cref="EventsMissed"/> notice where the gap is.
/// </para>
/// <para>
/// Threading: <c>_subscribers</c> is an immutable array replaced whole (copy-on-write) under <c>_writeGate</c>;
/// <see cref="Publish"/> reads it without a lock. <c>_disposed</c> is written under <c>_writeGate</c>.
/// <c>_totalDropped</c> is incremented atomically by publishers.
/// </para>
/// </remarks>
internal sealed class EventHub : IAsyncDisposable
{
    /// <summary>The default of <see cref="BuildStatusOptions.SubscriberBufferBytes"/>: 16 MiB.</summary>
    internal const long DefaultBufferBytes = 16L * 1024 * 1024;

    private readonly int _defaultBufferCapacity;
    private readonly long _defaultBufferBytes;
    private readonly ILogger _logger;
    private readonly Lock _writeGate = new();
    private Subscriber[] _subscribers = [];

    // Recomputed under _writeGate whenever a subscriber comes or goes; read anywhere.
    private volatile int _otherHostKinds;
    private volatile int _includeOtherHosts;

    // Completed (under _writeGate) when a subscriber that includes other hosts' events is added; replaced once used.
    private TaskCompletionSource _otherHostSubscriberAdded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;
    private long _totalDropped;

    /// <summary>Initializes a new instance of the <see cref="EventHub"/> class.</summary>
    /// <param name="defaultBufferCapacity">The buffer capacity of subscribers whose filter does not set one.</param>
    /// <param name="logger">Where receiver and filter faults are logged.</param>
    /// <param name="defaultBufferBytes">The byte bound (log text of buffered <see cref="LogChunk"/>s) of subscribers whose filter does not set one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="defaultBufferCapacity"/> or <paramref name="defaultBufferBytes"/> is less than 1.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="logger"/> is <see langword="null"/>.</exception>
    public EventHub(int defaultBufferCapacity, ILogger logger, long defaultBufferBytes = DefaultBufferBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(defaultBufferCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(defaultBufferBytes, 1);
        ArgumentNullException.ThrowIfNull(logger);
        _defaultBufferCapacity = defaultBufferCapacity;
        _defaultBufferBytes = defaultBufferBytes;
        _logger = logger;
    }

    /// <summary>Gets a value indicating whether anyone is subscribed. Callers skip building events when not.</summary>
    public bool HasSubscribers => Volatile.Read(ref _subscribers).Length != 0;

    /// <summary>Gets the number of events dropped because a subscriber's buffer was full, across all subscribers so far.</summary>
    public long TotalDropped => Interlocked.Read(ref _totalDropped);

    /// <summary>Gets the number of registered subscriptions and streams.</summary>
    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    /// <summary>Gets the kinds of other hosts' events some subscriber asked for.</summary>
    public StatusEventKinds OtherHostKinds => (StatusEventKinds)_otherHostKinds;

    /// <summary>Gets whether some subscriber asked for other hosts' events.</summary>
    public bool AnyIncludesOtherHosts => _includeOtherHosts > 0;

    /// <summary>Completes when some subscriber asks for other hosts' events (at once if one does).</summary>
    public Task WaitForOtherHostSubscriberAsync(CancellationToken cancellationToken)
    {
        Task added;
        lock (_writeGate)
        {
            if (_includeOtherHosts > 0 || _disposed)
            {
                return Task.CompletedTask;
            }

            if (_otherHostSubscriberAdded.Task.IsCompleted)
            {
                _otherHostSubscriberAdded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            added = _otherHostSubscriberAdded.Task;
        }

        return added.WaitAsync(cancellationToken);
    }

    /// <summary>Offers an event to every subscriber. Never blocks and never throws; any thread.</summary>
    /// <param name="statusEvent">The event; <see langword="null"/> is ignored.</param>
    public void Publish(StatusEvent statusEvent)
    {
        if (statusEvent is null)
        {
            return;
        }

        var subscribers = Volatile.Read(ref _subscribers);
        if (subscribers.Length == 0)
        {
            return;
        }

        var weight = Subscriber.Weigh(statusEvent);
        for (int i = 0; i < subscribers.Length; i++)
        {
            try
            {
                subscribers[i].Offer(statusEvent, weight);
            }
            catch (Exception ex)
            {
                // Only user code can throw here: a filter's builder set, or the status objects the event
                // reads its builder name and build number from.
                EventHubLog.FilterFailed(_logger, ex, statusEvent.GetType().Name);
            }
        }
    }

    /// <summary>Returns whether any subscriber's buffer holds an event that satisfies <paramref name="predicate"/> (run under that subscriber's lock; it must take none).</summary>
    /// <param name="state">Passed to <paramref name="predicate"/>.</param>
    /// <param name="predicate">The test.</param>
    /// <typeparam name="TState">The type of <paramref name="state"/>.</typeparam>
    /// <returns><see langword="true"/> when one does.</returns>
    public bool AnyBuffered<TState>(TState state, Func<TState, StatusEvent, bool> predicate)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            if (subscriber.AnyBuffered(state, predicate))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Replaces, in every subscriber's buffer, the events <paramref name="map"/> returns a replacement for (run under that subscriber's lock; it must take none).</summary>
    /// <param name="state">Passed to <paramref name="map"/>.</param>
    /// <param name="map">Returns the replacement, or <see langword="null"/> to keep the event.</param>
    /// <typeparam name="TState">The type of <paramref name="state"/>.</typeparam>
    public void RewriteBuffered<TState>(TState state, Func<TState, StatusEvent, StatusEvent?> map)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.RewriteBuffered(state, map);
        }
    }

    /// <summary>Subscribes a receiver; its events are delivered in order by a pump of its own.</summary>
    /// <param name="receiver">The receiver.</param>
    /// <param name="filter">The filter, or <see langword="null"/> for all events.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="receiver"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="filter"/> sets a buffer capacity or byte bound less than 1.</exception>
    /// <exception cref="ObjectDisposedException">The hub has been disposed.</exception>
    public IStatusSubscription Subscribe(IStatusReceiver receiver, StatusEventFilter? filter)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        var subscription = new ReceiverSubscription(this, receiver, filter, CapacityOf(filter), BytesOf(filter), _logger);
        Add(subscription);
        subscription.Start();
        return subscription;
    }

    /// <summary>
    /// Streams the events published from this call on. The stream is registered here, not when its enumeration
    /// starts, so no event published after this call is missed; see <see cref="StreamSubscription"/> for when it
    /// is unregistered.
    /// </summary>
    /// <param name="filter">The filter, or <see langword="null"/> for all events.</param>
    /// <param name="cancellationToken">Ends the stream: <c>MoveNextAsync</c> then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The stream; it ends normally when the hub is disposed. It can be enumerated once.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="filter"/> sets a buffer capacity or byte bound less than 1.</exception>
    /// <exception cref="ObjectDisposedException">The hub has been disposed.</exception>
    public IAsyncEnumerable<StatusEvent> WatchAsync(StatusEventFilter? filter, CancellationToken cancellationToken)
    {
        var stream = new StreamSubscription(this, filter, CapacityOf(filter), BytesOf(filter));
        Add(stream);
        stream.DisposeWhenCancelledEarly(cancellationToken);
        return stream;
    }

    /// <summary>
    /// Unregisters every subscriber: streams end normally, receivers' tokens are cancelled and their pumps stop.
    /// Later <see cref="Publish"/> calls do nothing; <see cref="Subscribe"/> and <see cref="WatchAsync"/> throw.
    /// </summary>
    /// <returns>A completed task: receivers' calls under way are not awaited (see <see cref="ReceiverSubscription"/>).</returns>
    public ValueTask DisposeAsync()
    {
        Subscriber[] subscribers;
        lock (_writeGate)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
            subscribers = _subscribers;
            Volatile.Write(ref _subscribers, []);
            CountOtherHostSubscribers([]);
            _otherHostSubscriberAdded.TrySetResult();
        }

        foreach (var subscriber in subscribers)
        {
            subscriber.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Counts one dropped event. Called by subscribers under their own lock.</summary>
    internal void CountDropped() => Interlocked.Increment(ref _totalDropped);

    /// <summary>Unregisters a subscriber, if registered. Called by <see cref="Subscriber.Dispose"/>.</summary>
    /// <param name="subscriber">The subscriber.</param>
    internal void Remove(Subscriber subscriber)
    {
        lock (_writeGate)
        {
            var current = _subscribers;
            int index = Array.IndexOf(current, subscriber);
            if (index < 0)
            {
                return;
            }

            var next = new Subscriber[current.Length - 1];
            Array.Copy(current, 0, next, 0, index);
            Array.Copy(current, index + 1, next, index, current.Length - index - 1);
            Volatile.Write(ref _subscribers, next);
            CountOtherHostSubscribers(next);
        }
    }

    // Called under _writeGate.
    private void CountOtherHostSubscribers(Subscriber[] subscribers)
    {
        var kinds = StatusEventKinds.None;
        var count = 0;
        foreach (var subscriber in subscribers)
        {
            if (subscriber.IncludesOtherHosts)
            {
                kinds |= subscriber.RemoteKinds;
                count++;
            }
        }

        _otherHostKinds = (int)kinds;
        _includeOtherHosts = count;
        if (count > 0)
        {
            _otherHostSubscriberAdded.TrySetResult();
        }
    }

    private int CapacityOf(StatusEventFilter? filter)
    {
        if (filter?.BufferCapacity is int capacity)
        {
            if (capacity < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(filter), capacity, $"The filter's BufferCapacity must be at least 1; it is {capacity}.");
            }

            return capacity;
        }

        return _defaultBufferCapacity;
    }

    private long BytesOf(StatusEventFilter? filter)
    {
        if (filter?.BufferBytes is long bytes)
        {
            if (bytes < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(filter), bytes, $"The filter's BufferBytes must be at least 1; it is {bytes}.");
            }

            return bytes;
        }

        return _defaultBufferBytes;
    }

    private void Add(Subscriber subscriber)
    {
        lock (_writeGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Volatile.Write(ref _subscribers, [.. _subscribers, subscriber]);
            CountOtherHostSubscribers(_subscribers);
        }
    }
}
