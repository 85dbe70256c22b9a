using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// The server side of the status streams: one subscription to <see cref="IStatus"/>, every event numbered and
/// serialized once (a <c>logChunk</c> only if a stream asks for it; see <see cref="JournalEntry"/>), kept in a
/// bounded replay buffer that every stream reads with its own cursor. Other hosts' events come through a second
/// subscription that exists only while a stream asks for them (EventJournal.OtherHosts.cs).
/// </summary>
/// <remarks>
/// A stream holds no buffer of its own beyond the batch it is writing, so a slow or stalled client costs the
/// others nothing: when the buffer has moved past its cursor it gets a reset marker saying how many events it
/// missed, and the page reloads its snapshot. Events arrive on Core's delivery thread for this subscriber
/// (<see cref="OnEventAsync"/>), one at a time and in order.
/// </remarks>
internal sealed partial class EventJournal : IStatusReceiver, IDisposable
{
    /// <summary>The buffer Core keeps for this one subscriber, before it reports missed events.</summary>
    private const int CoreBufferCapacity = 65_536;

    /// <summary>
    /// How often, at most, waiting streams are woken. A burst wakes them once per interval, so each writes a batch
    /// with one write instead of a write per event.
    /// </summary>
    internal static readonly TimeSpan WakeInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// How long after the first event of a quiet spell the streams are woken: a change publishes several events
    /// within a millisecond or two (a step finishes, the next starts, its log opens), and one write for them all
    /// instead of one for the first and one for the rest halved the streams' writes (docs/BENCHMARKS.md, "Web").
    /// </summary>
    internal static readonly TimeSpan FirstWakeDelay = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// How long the journal goes on keeping <c>logChunk</c> events after the last stream that asked for them
    /// closed, so that one that reconnects (or reloads) resumes without a gap.
    /// </summary>
    internal static readonly TimeSpan ChunkGrace = TimeSpan.FromMinutes(1);

    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _epoch;

    // Guarded by _gate: the ring (_ring, _head, _count), its byte total, the last sequence, the change signal and
    // its wake-up timer (_lastWake, _wakePending, _wakeTimer; the timer's callback takes _gate too), and whether
    // logChunks are kept (below).
    private readonly Lock _gate = new();
    private readonly JournalEntry?[] _ring;
    private int _head;
    private int _count;
    private long _bytes;
    private long _last;
    private TaskCompletionSource _changed = NewSignal();
    private long _lastWake;
    private bool _wakePending;
    private ITimer? _wakeTimer;

    // LogChunks are kept only while a stream asks for them (and ChunkGrace after the last one left): they are most
    // of what a build publishes, and the page asks for none. While they are not wanted, the subscription's
    // Condition refuses them on the publishing thread, so they take no room in Core's buffer for this journal (a
    // lagging journal lost chunks nobody wanted there, and every stream got a reset for them).
    // _chunksWanted: written under _gate, read by Condition on any publishing thread.
    // _chunkMarker: the first event Condition judged after _chunksWanted was set (set once by compare-exchange on
    //   a publishing thread, cleared under _gate). Every chunk refused was judged before it, so every chunk after
    //   the marker's predecessor is in the journal: that predecessor is _chunksAfter, known once the marker is
    //   appended (long.MaxValue until then, and while chunks are not wanted). Events of one build are published in
    //   order under its lock, so this holds for each build's logs whatever other builds do meanwhile.
    // _chunkStreams, _chunksLeftAt: guarded by _gate.
    private volatile bool _chunksWanted;
    private StatusEvent? _chunkMarker;
    private int _chunkStreams;
    private long _chunksLeftAt;
    private long _chunksAfter = long.MaxValue;

    private IStatusSubscription? _subscription;

    // Set once by Start, before either subscription exists; read by their delivery threads and under _othersGate.
    private IStatus? _status;

    public EventJournal(BuildStatusWebOptions options, TimeProvider time, ILogger logger)
    {
        _capacity = options.ReplayBufferCapacity;
        _maxBytes = options.ReplayBufferBytes;
        _ring = new JournalEntry?[_capacity];
        _time = time;
        _logger = logger;

        // Ids carry the journal's start, so an id from before a restart is recognised and answered with a reset.
        _epoch = time.GetUtcNow().ToUnixTimeMilliseconds().ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Gets the id of the newest event, to be sent with a snapshot: a stream opened after it misses nothing.</summary>
    public string LastEventId
    {
        get
        {
            lock (_gate)
            {
                return FormatId(_last);
            }
        }
    }

    /// <summary>Gets the sequence of the newest event.</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _last;
            }
        }
    }

    /// <summary>Subscribes to <paramref name="status"/>. Called once, when the endpoints are mapped.</summary>
    public void Start(IStatus status)
    {
        _status = status;
        _subscription = status.Subscribe(this, new StatusEventFilter { BufferCapacity = CoreBufferCapacity, Condition = Wants });
    }

    public string FormatId(long sequence) => string.Concat(_epoch, "-", sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// Parses an event id this journal gave out. Returns <see langword="false"/> for an id from another run or
    /// from no run at all; the stream then starts with a reset.
    /// </summary>
    public bool TryParseId(string? id, out long sequence)
    {
        sequence = 0;
        if (string.IsNullOrEmpty(id))
        {
            return false;
        }

        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && id.AsSpan(0, dash).SequenceEqual(_epoch)
            && long.TryParse(id.AsSpan(dash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out sequence);
    }

    public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
    {
        if (statusEvent is EventsMissed missed)
        {
            // Core dropped events before they reached us: every stream must reload. The marker may be among them.
            LogCoreMissed(missed.Count);
            AppendReset(missed.Count);
            Interlocked.Exchange(ref _chunkMarker, null);
            return ValueTask.CompletedTask;
        }

        if (statusEvent is LogChunk chunk)
        {
            if (!KeepsChunks())
            {
                return ValueTask.CompletedTask;
            }

            // Only the head is taken now (the log as it is); the lines are serialized if a stream asks for them.
            var head = StreamEvents.From(statusEvent, withLines: false);
            var key = StreamEvents.LogKey(chunk.Log);
            Append(seq => JournalEntry.ForChunk(seq, FormatId(seq), statusEvent.BuilderName, statusEvent.BuildNumber, head, chunk.Lines, key), statusEvent);
            return ValueTask.CompletedTask;
        }

        // Serialized here, outside the lock; under it the frame only gets its id.
        var json = JsonSerializer.SerializeToUtf8Bytes(StreamEvents.From(statusEvent), WebJsonContext.Default.StreamEventDto);
        Append(seq => JournalEntry.ForEvent(seq, FormatId(seq), statusEvent.Kind, statusEvent.BuilderName, statusEvent.BuildNumber, json), statusEvent);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Registers a stream that asked for <c>logChunk</c> events, so that the journal keeps them until it is
    /// disposed (and <see cref="ChunkGrace"/> longer). Returns the sequence after which every chunk is in the
    /// journal, or <see langword="null"/> while that is not known yet (chunks were not kept until now): a stream
    /// that resumes from an older cursor cannot have them all and must start with a reset.
    /// </summary>
    /// <param name="registration">Dispose it when the stream ends.</param>
    public long? KeepChunks(out IDisposable registration)
    {
        lock (_gate)
        {
            if (!_chunksWanted)
            {
                Volatile.Write(ref _chunkMarker, null);
                _chunksWanted = true;
            }

            _chunkStreams++;
            registration = new ChunkRegistration(this);
            return _chunksAfter == long.MaxValue ? null : _chunksAfter;
        }
    }

    /// <summary>
    /// Reads up to <paramref name="max"/> entries (and about <paramref name="maxBytes"/> bytes: at least one entry)
    /// after <paramref name="after"/> that match <paramref name="filter"/>.
    /// </summary>
    /// <param name="after">The stream's cursor; -1 for "a cursor that was lost" (the read starts with a reset).</param>
    /// <param name="filter">What the stream asked for.</param>
    /// <param name="max">The most entries to return.</param>
    /// <param name="maxBytes">The most bytes of entries to return, unless the first alone is larger.</param>
    public JournalRead Read(long after, StreamFilter filter, int max, long maxBytes = long.MaxValue)
    {
        lock (_gate)
        {
            var oldest = _last - _count + 1;
            if (after < 0 || after > _last || after < oldest - 1)
            {
                // Lost: from another run, from the future, or overtaken by the buffer. Say so, then go on from now.
                var missed = after < 0 || after > _last ? -1 : oldest - 1 - after;
                var reset = ResetEntry(_last, missed);
                return new JournalRead([reset], _last, _changed.Task) { AtEnd = true };
            }

            List<JournalEntry>? entries = null;
            var sequence = after;
            long bytes = 0;
            while (sequence < _last && (entries?.Count ?? 0) < max)
            {
                var entry = _ring[(_head + (int)(sequence + 1 - oldest)) % _capacity]!;
                if (filter.Matches(entry))
                {
                    if (entries is not null && bytes + entry.Bytes > maxBytes)
                    {
                        break;
                    }

                    (entries ??= []).Add(entry);
                    bytes += entry.Bytes;
                }

                sequence++;
            }

            return new JournalRead(entries ?? (IReadOnlyList<JournalEntry>)[], sequence, _changed.Task) { AtEnd = sequence == _last };
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        DisposeOtherHosts();
        lock (_gate)
        {
            _wakeTimer?.Dispose();
            _wakeTimer = null;
        }
    }

    // Any publishing thread (the subscription's Condition): takes no lock. An event judged once chunks are wanted
    // may become the marker.
    private bool Wants(StatusEvent statusEvent)
    {
        if (!_chunksWanted)
        {
            return statusEvent.Kind != StatusEventKinds.LogChunk;
        }

        if (Volatile.Read(ref _chunkMarker) is null)
        {
            Interlocked.CompareExchange(ref _chunkMarker, statusEvent, null);
        }

        return true;
    }

    // Core's delivery thread: whether a LogChunk that arrives now goes into the journal. After the grace, chunks
    // stop being wanted (the Condition refuses them from then on).
    private bool KeepsChunks()
    {
        lock (_gate)
        {
            if (_chunksWanted && _chunkStreams == 0 && _time.GetElapsedTime(_chunksLeftAt) >= ChunkGrace)
            {
                _chunksWanted = false;
                _chunksAfter = long.MaxValue;
            }

            return _chunksWanted;
        }
    }

    private void ReleaseChunks()
    {
        lock (_gate)
        {
            if (--_chunkStreams == 0)
            {
                _chunksLeftAt = _time.GetTimestamp();
            }
        }
    }

    // Without RunContinuationsAsynchronously, on purpose: the streams waiting on a signal continue on the thread
    // that completes it (the wake timer's), one after another, each reading the journal and handing one batch to
    // its response: one work item for all of them. With a thread-pool item per stream (200 streams, up to 200
    // wakes a second) the host's own continuations queued behind them and its builds slowed; measured in
    // docs/BENCHMARKS.md, "Web". A signal is completed outside _gate, and a stream's continuation takes _gate
    // only to read.
    private static TaskCompletionSource NewSignal() => new();

    private JournalEntry ResetEntry(long sequence, long missed, bool fromOtherHosts = false)
    {
        var dto = new StreamEventDto("reset", _time.GetUtcNow()) { Missed = missed };
        return JournalEntry.Reset(sequence, FormatId(sequence), dto, fromOtherHosts);
    }

    private void AppendReset(long missed, bool fromOtherHosts = false) => Append(seq => ResetEntry(seq, missed, fromOtherHosts), null);

    private void Append(Func<long, JournalEntry> create, StatusEvent? statusEvent)
    {
        lock (_gate)
        {
            var entry = create(_last + 1);
            if (statusEvent is not null && _chunksWanted && _chunksAfter == long.MaxValue && ReferenceEquals(statusEvent, Volatile.Read(ref _chunkMarker)))
            {
                _chunksAfter = entry.Sequence - 1;
            }

            while (_count > 0 && (_count == _capacity || _bytes + entry.Bytes > _maxBytes))
            {
                var oldest = _ring[_head]!;
                _ring[_head] = null;
                _head = (_head + 1) % _capacity;
                _count--;
                _bytes -= oldest.Bytes;
            }

            _ring[(_head + _count) % _capacity] = entry;
            _count++;
            _bytes += entry.Bytes;
            _last = entry.Sequence;

            if (!_wakePending)
            {
                // Streams wake FirstWakeDelay after the first event of a quiet spell, then at most every WakeInterval.
                _wakePending = true;
                var sinceWake = _time.GetElapsedTime(_lastWake);
                var delay = sinceWake >= WakeInterval ? FirstWakeDelay : WakeInterval - sinceWake;
                _wakeTimer ??= _time.CreateTimer(static state => ((EventJournal)state!).OnWakeTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _wakeTimer.Change(delay < FirstWakeDelay ? FirstWakeDelay : delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnWakeTimer()
    {
        TaskCompletionSource? changed = null;
        lock (_gate)
        {
            if (_wakePending)
            {
                changed = TakeSignal();
            }
        }

        changed?.TrySetResult();
    }

    // Caller holds _gate.
    private TaskCompletionSource TakeSignal()
    {
        var changed = _changed;
        _changed = NewSignal();
        _lastWake = _time.GetTimestamp();
        _wakePending = false;
        return changed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The web event journal fell behind and lost {Count} status events; open pages reload their snapshot.")]
    private partial void LogCoreMissed(long count);

    private sealed class ChunkRegistration(EventJournal journal) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                journal.ReleaseChunks();
            }
        }
    }
}
