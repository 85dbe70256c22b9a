namespace BuildStatus.Events;

/// <summary>
/// One subscriber of an <see cref="EventHub"/>: its filter and its bounded buffer, shared by callback receivers
/// (<see cref="ReceiverSubscription"/>) and streams (<see cref="StreamSubscription"/>).
/// </summary>
/// <remarks>
/// <para>
/// Why a ring buffer under a per-subscriber lock rather than <c>System.Threading.Channels</c>: the gap notice must
/// sit exactly where events were lost, which needs "drop, count, then insert a notice before the next accepted
/// event" as one atomic step. With a channel that means a lock of our own around the channel's lock. Here one
/// uncontended <see cref="Lock"/> per subscriber per event does it all, the publish path allocates nothing (one
/// <see cref="EventsMissed"/> per gap aside), and the consumer takes events in batches so it takes the lock once
/// per batch, not per event.
/// </para>
/// <para>
/// Threading: every field marked "guarded by <c>_gate</c>" is read and written only under <c>_gate</c>. Producers
/// are any threads calling <see cref="EventHub.Publish"/>; there is exactly one consumer (the receiver's pump
/// thread or the stream's enumerator). Publish calls for one subscriber are serialized by <c>_gate</c>, so the
/// buffer keeps the order in which they took it, which is Publish order for callers that serialize their calls.
/// </para>
/// <para>
/// Capacity counts the events waiting in the buffer, and the byte bound the text of the <see cref="LogChunk"/>
/// events among them (<see cref="Weigh"/>: 2 bytes per char), since one chunk can carry an arbitrarily large
/// append. An event is dropped when either bound would be exceeded, except that an empty buffer takes any one
/// event, so a chunk larger than the byte bound is still delivered. The consumer's current batch (at most
/// <see cref="MaxBatchSize"/> events, taken out at once) no longer counts, as with a channel whose reader has
/// read them.
/// </para>
/// </remarks>
internal abstract class Subscriber
{
    /// <summary>The most events the consumer takes out of the buffer under one lock.</summary>
    /// <remarks>Large enough to amortize the lock, small enough that a batch in hand stays small next to the buffer.</remarks>
    internal const int MaxBatchSize = 256;

    // The ring starts small and doubles up to the capacity, so that an idle subscriber with the default capacity
    // (10,000) does not hold 80 KB from the start.
    private const int InitialRingSize = 32;

    private readonly Lock _gate = new();
    private readonly EventHub _hub;

    // Null when the filter passes everything, so the common case skips the call.
    private readonly StatusEventFilter? _filter;

    // Set once in the constructor: no filter at all means this host's events only.
    private readonly bool _ownOnly;
    private readonly int _capacity;
    private readonly long _maxBytes;

    private StatusEvent?[] _ring; // guarded by _gate
    private int _head; // guarded by _gate: index of the oldest buffered event
    private int _count; // guarded by _gate: buffered events
    private long _bytes; // guarded by _gate: the weight (Weigh) of the buffered events
    private long _pendingMissed; // guarded by _gate: events dropped since the last notice was queued
    private DateTimeOffset _missedSince; // guarded by _gate: timestamp of the first of them
    private bool _consumerWaiting; // guarded by _gate: the consumer found the buffer empty and waits for a Wake

    // Written under _gate, read without it by the consumer to stop promptly.
    private volatile bool _closed;

    // Written under _gate (single writer at a time), read from any thread.
    private long _missed;

    // Set once by the first Dispose (any thread).
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="Subscriber"/> class.</summary>
    /// <param name="hub">The hub that owns the subscriber.</param>
    /// <param name="filter">The filter, or <see langword="null"/> for all events.</param>
    /// <param name="capacity">The buffer capacity, at least 1.</param>
    /// <param name="maxBytes">The most bytes of log text (<see cref="Weigh"/>) the buffer holds, at least 1.</param>
    protected Subscriber(EventHub hub, StatusEventFilter? filter, int capacity, long maxBytes)
    {
        _hub = hub;
        _filter = filter is null || PassesAll(filter) ? null : filter;
        _ownOnly = filter is null;
        IncludesOtherHosts = filter?.IncludeOtherHosts ?? false;
        RemoteKinds = IncludesOtherHosts ? filter!.Kinds : StatusEventKinds.None;
        _capacity = capacity;
        _maxBytes = maxBytes;
        _ring = new StatusEvent?[Math.Min(capacity, InitialRingSize)];
    }

    /// <summary>Gets whether the subscriber asked for other hosts' events.</summary>
    public bool IncludesOtherHosts { get; }

    /// <summary>Gets the kinds of other hosts' events the subscriber asked for (<see cref="StatusEventKinds.None"/> when none).</summary>
    public StatusEventKinds RemoteKinds { get; }

    /// <summary>Gets the number of events dropped because the buffer was full.</summary>
    public long Missed => Volatile.Read(ref _missed);

    /// <summary>Gets the size of the batch array the consumer passes to <see cref="TakeBatch"/>.</summary>
    protected int BatchArrayLength => Math.Min(_capacity, MaxBatchSize) + 1;

    /// <summary>Gets a value indicating whether the subscriber was disposed or its hub was.</summary>
    protected bool IsClosed => _closed;

    /// <summary>
    /// Returns what an event weighs against the byte bound: the UTF-16 size of a <see cref="LogChunk"/>'s line text
    /// (2 bytes per char); 0 for every other event, whose size is bounded and counted by the capacity alone.
    /// </summary>
    /// <param name="statusEvent">The event.</param>
    /// <returns>The weight in bytes.</returns>
    internal static long Weigh(StatusEvent statusEvent)
    {
        if (statusEvent is not LogChunk chunk)
        {
            return 0;
        }

        long chars = 0;
        var lines = chunk.Lines;
        for (var i = 0; i < lines.Count; i++)
        {
            chars += lines[i].Text.Length;
        }

        return chars * sizeof(char);
    }

    /// <summary>Filters an event and appends it to the buffer, or drops and counts it when the buffer is full.</summary>
    /// <param name="statusEvent">The event.</param>
    /// <param name="weight">Its <see cref="Weigh"/>, computed once by the hub for all subscribers.</param>
    /// <remarks>Called by any publishing thread. Never blocks beyond the short <c>_gate</c> section.</remarks>
    internal void Offer(StatusEvent statusEvent, long weight)
    {
        if (_filter is null ? _ownOnly && statusEvent.HostName is not null : !_filter.Matches(statusEvent))
        {
            return;
        }

        bool wake;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            // An empty buffer takes any event, so one larger than the byte bound still gets through.
            var fits = _count == 0 || _bytes + weight <= _maxBytes;
            if (_pendingMissed != 0 && _count < _capacity && fits)
            {
                // The gap's notice goes just before the first event accepted after it.
                Append(new EventsMissed(_pendingMissed) { Timestamp = _missedSince });
                _pendingMissed = 0;
            }

            if (_count == _capacity || !fits)
            {
                if (_pendingMissed++ == 0)
                {
                    _missedSince = statusEvent.Timestamp;
                }

                Volatile.Write(ref _missed, _missed + 1);
                _hub.CountDropped();
            }
            else
            {
                Append(statusEvent);
                _bytes += weight;
            }

            // The consumer only waits on an empty buffer, so it can only be waiting if we appended something.
            wake = _consumerWaiting;
            _consumerWaiting = false;
        }

        if (wake)
        {
            Wake();
        }
    }

    /// <summary>Returns whether any buffered event satisfies <paramref name="predicate"/>, which runs under <c>_gate</c> and must take no lock.</summary>
    internal bool AnyBuffered<TState>(TState state, Func<TState, StatusEvent, bool> predicate)
    {
        lock (_gate)
        {
            for (var i = 0; i < _count; i++)
            {
                if (predicate(state, _ring[(_head + i) % _ring.Length]!))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Replaces each buffered event for which <paramref name="map"/> returns another (of the same weight), in
    /// place. <paramref name="map"/> runs under <c>_gate</c> and must take no lock.
    /// </summary>
    internal void RewriteBuffered<TState>(TState state, Func<TState, StatusEvent, StatusEvent?> map)
    {
        lock (_gate)
        {
            for (var i = 0; i < _count; i++)
            {
                var index = (_head + i) % _ring.Length;
                if (map(state, _ring[index]!) is { } replacement)
                {
                    _ring[index] = replacement;
                }
            }
        }
    }

    /// <summary>Unregisters the subscriber, stops delivery and discards buffered events. Idempotent; any thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _hub.Remove(this);
        OnDisposing();
        Close();
    }

    /// <summary>
    /// Moves buffered events into <paramref name="batch"/>, oldest first, followed by an <see cref="EventsMissed"/>
    /// notice when events were dropped after the last of them. When there is nothing, marks the consumer as
    /// waiting: the next appended event (or closing) then calls <see cref="Wake"/> exactly once.
    /// </summary>
    /// <param name="batch">The consumer's array, <see cref="BatchArrayLength"/> long, with nulls in it.</param>
    /// <returns>The number of events written, 0 when the consumer must wait, or -1 once closed.</returns>
    /// <remarks>Called by the single consumer only.</remarks>
    protected int TakeBatch(StatusEvent?[] batch)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return -1;
            }

            int taken = Math.Min(_count, batch.Length - 1);
            int firstPart = Math.Min(taken, _ring.Length - _head);
            Array.Copy(_ring, _head, batch, 0, firstPart);
            Array.Clear(_ring, _head, firstPart);
            if (taken > firstPart)
            {
                Array.Copy(_ring, 0, batch, firstPart, taken - firstPart);
                Array.Clear(_ring, 0, taken - firstPart);
            }

            _head = (_head + taken) % _ring.Length;
            _count -= taken;
            for (var i = 0; i < taken; i++)
            {
                _bytes -= Weigh(batch[i]!);
            }

            if (_count == 0 && _pendingMissed != 0)
            {
                // Every event buffered before the gap is in this batch: the notice goes right after them.
                batch[taken++] = new EventsMissed(_pendingMissed) { Timestamp = _missedSince };
                _pendingMissed = 0;
            }

            if (taken == 0)
            {
                _consumerWaiting = true;
            }

            return taken;
        }
    }

    /// <summary>
    /// Cancels the consumer's wait if it is still armed, so that exactly one of <see cref="Wake"/> and the caller
    /// completes it.
    /// </summary>
    /// <returns><see langword="true"/> when the caller now owns completing the wait.</returns>
    protected bool TryDisarmWait()
    {
        lock (_gate)
        {
            bool armed = _consumerWaiting;
            _consumerWaiting = false;
            return armed;
        }
    }

    /// <summary>Wakes the consumer after it found the buffer empty. Called once per wait, outside <c>_gate</c>.</summary>
    protected abstract void Wake();

    /// <summary>Runs once, on the first <see cref="Dispose"/>, after unregistering and before closing the buffer.</summary>
    protected virtual void OnDisposing()
    {
    }

    private static bool PassesAll(StatusEventFilter filter)
        => filter.Builders is null && filter.BuildNumber is null && filter.Condition is null && (filter.Kinds & StatusEventKinds.All) == StatusEventKinds.All && filter.IncludeOtherHosts;

    private void Close()
    {
        bool wake;
        lock (_gate)
        {
            _closed = true;
            _ring = [];
            _head = 0;
            _count = 0;
            _bytes = 0;
            _pendingMissed = 0;
            wake = _consumerWaiting;
            _consumerWaiting = false;
        }

        if (wake)
        {
            Wake();
        }
    }

    // Guarded by _gate (called from Offer only). Precondition: _count < _capacity.
    private void Append(StatusEvent statusEvent)
    {
        if (_count == _ring.Length)
        {
            Grow();
        }

        int tail = _head + _count;
        if (tail >= _ring.Length)
        {
            tail -= _ring.Length;
        }

        _ring[tail] = statusEvent;
        _count++;
    }

    // Guarded by _gate. Doubles the ring (up to the capacity) and moves the events to its start, in order.
    private void Grow()
    {
        var bigger = new StatusEvent?[(int)Math.Min(_capacity, _ring.Length * 2L)];
        int firstPart = _ring.Length - _head;
        Array.Copy(_ring, _head, bigger, 0, firstPart);
        Array.Copy(_ring, 0, bigger, firstPart, _head);
        _ring = bigger;
        _head = 0;
    }
}
