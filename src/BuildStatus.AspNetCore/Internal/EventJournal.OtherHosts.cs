using System.Text.Json;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>Other hosts' events in the journal: a second subscription, kept only while something asks for them.</summary>
/// <remarks>
/// <para>
/// Core reads other hosts' events from the store only while some subscriber sets
/// <see cref="StatusEventFilter.IncludeOtherHosts"/> (otherwise one small read per
/// <see cref="BuildStatusOptions.OtherHostsPollInterval"/>), and loads a read-only view of each one's build. So the
/// journal subscribes to them only while a stream asks for them (<c>hosts=all</c>) or a cluster snapshot was taken
/// (<c>api/hosts</c>), and for <see cref="OtherHostsGrace"/> after the last of either: a host whose page nobody
/// watches that way pays nothing more than before. The subscription refuses this host's own events on the publishing
/// thread (they come through the main one) and asks for no <c>logChunk</c> (so Core reads no other host's log lines).
/// </para>
/// <para>
/// Resume: other hosts' events are in the journal from <see cref="_othersAfter"/> on. A stream that asks for them and
/// resumes from an older cursor cannot have them all and starts with a reset, as for <c>logChunk</c>. A snapshot
/// (<see cref="KeepOtherHostsForSnapshot"/>) subscribes before it reads storage and before it takes its
/// <see cref="LastEventId"/>, so a stream opened after that id misses nothing the snapshot did not show.
/// </para>
/// <para>
/// Threading: <c>_othersGate</c> guards the subscription and its bookkeeping (<c>_others</c>, <c>_othersReceiver</c>,
/// <c>_otherStreams</c>, <c>_othersLeftAt</c>, <c>_othersTimer</c>); Core's <c>Subscribe</c> and <c>Dispose</c> are
/// called under it, never under <c>_gate</c>. <c>_othersGate</c> may be held while taking <c>_gate</c>, never the other
/// way round. <c>_othersAfter</c> is written under both and read under <c>_gate</c>. Other hosts' events arrive on the
/// second subscription's own delivery thread, one at a time and in order, and are appended under <c>_gate</c> like
/// every other entry.
/// </para>
/// </remarks>
internal sealed partial class EventJournal
{
    /// <summary>
    /// How long the journal goes on taking other hosts' events after the last stream that asked for them closed, or
    /// after a cluster snapshot: long enough for a page to open its stream after its snapshot, or to reconnect.
    /// </summary>
    internal static readonly TimeSpan OtherHostsGrace = TimeSpan.FromMinutes(1);

    private readonly Lock _othersGate = new();
    private IStatusSubscription? _others;
    private OtherHostsReceiver? _othersReceiver;
    private int _otherStreams;
    private long _othersLeftAt;
    private ITimer? _othersTimer;
    private bool _othersClosed;

    // Under _gate (written with _othersGate held too): long.MaxValue while there is no subscription.
    private long _othersAfter = long.MaxValue;

    /// <summary>Gets whether other hosts' events are being taken now (for tests).</summary>
    internal bool TakesOtherHosts
    {
        get
        {
            lock (_othersGate)
            {
                return _others is not null;
            }
        }
    }

    /// <summary>
    /// Registers a stream that asked for other hosts' events, so that the journal takes them until it is disposed (and
    /// <see cref="OtherHostsGrace"/> longer). Returns the sequence after which every other host's event is in the
    /// journal: a stream that resumes from an older cursor must start with a reset.
    /// </summary>
    /// <param name="registration">Dispose it when the stream ends.</param>
    public long KeepOtherHosts(out IDisposable registration)
    {
        lock (_othersGate)
        {
            var after = EnsureOtherHosts();
            _otherStreams++;
            registration = new OtherHostsRegistration(this);
            return after;
        }
    }

    /// <summary>
    /// Takes other hosts' events from now for <see cref="OtherHostsGrace"/> (longer while a stream asks for them),
    /// before a cluster snapshot reads storage: a stream opened after the snapshot's <see cref="LastEventId"/> then
    /// misses none of them.
    /// </summary>
    public void KeepOtherHostsForSnapshot()
    {
        lock (_othersGate)
        {
            EnsureOtherHosts();
            _othersLeftAt = _time.GetTimestamp();
            if (_otherStreams == 0)
            {
                ArmOthersTimer(OtherHostsGrace);
            }
        }
    }

    // Caller holds _othersGate. Subscribes when not subscribed; returns _othersAfter.
    private long EnsureOtherHosts()
    {
        if (_others is null && !_othersClosed && _status is { } status)
        {
            var receiver = new OtherHostsReceiver(this);
            _others = status.Subscribe(receiver, new StatusEventFilter
            {
                IncludeOtherHosts = true,
                Kinds = StreamFilter.OtherHostKinds,
                BufferCapacity = CoreBufferCapacity,
                Condition = static e => e.IsFromOtherHost,
            });
            _othersReceiver = receiver;

            // Every other host's event Core delivers from now on was committed after the subscription, and is appended
            // after this sequence.
            lock (_gate)
            {
                _othersAfter = _last;
            }
        }

        lock (_gate)
        {
            return _othersAfter;
        }
    }

    private void ReleaseOtherHosts()
    {
        lock (_othersGate)
        {
            if (--_otherStreams == 0)
            {
                _othersLeftAt = _time.GetTimestamp();
                ArmOthersTimer(OtherHostsGrace);
            }
        }
    }

    // Caller holds _othersGate.
    private void ArmOthersTimer(TimeSpan due)
    {
        if (_othersClosed)
        {
            return;
        }

        _othersTimer ??= _time.CreateTimer(static state => ((EventJournal)state!).OnOthersTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _othersTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    // The timer's thread: once no stream asks and the grace is over, unsubscribe (Core then stops reading other
    // hosts' events for this journal).
    private void OnOthersTimer()
    {
        lock (_othersGate)
        {
            if (_otherStreams > 0 || _others is null)
            {
                return;
            }

            var left = OtherHostsGrace - _time.GetElapsedTime(_othersLeftAt);
            if (left > TimeSpan.Zero)
            {
                ArmOthersTimer(left);
                return;
            }

            Unsubscribe();
        }
    }

    // Caller holds _othersGate.
    private void Unsubscribe()
    {
        _othersReceiver?.Stop();
        _othersReceiver = null;
        _others?.Dispose();
        _others = null;
        lock (_gate)
        {
            _othersAfter = long.MaxValue;
        }
    }

    private void DisposeOtherHosts()
    {
        lock (_othersGate)
        {
            _othersClosed = true;
            _othersTimer?.Dispose();
            _othersTimer = null;
            Unsubscribe();
        }
    }

    // The second subscription's delivery thread.
    private void OnOtherHostEvent(StatusEvent statusEvent)
    {
        if (statusEvent is EventsMissed missed)
        {
            // Other hosts' events were lost (Core's buffer for this subscription, or the outbox's retention): only
            // the streams that asked for them must reload.
            LogOtherHostsMissed(missed.Count);
            AppendReset(missed.Count, fromOtherHosts: true);
            return;
        }

        if (!statusEvent.IsFromOtherHost || statusEvent.Kind == StatusEventKinds.LogChunk)
        {
            return;
        }

        var dto = StreamEvents.From(statusEvent) with { Host = statusEvent.HostName, InstanceId = statusEvent.InstanceId };
        if (dto.Build is not null && StreamEvents.BuildOf(statusEvent) is { } build)
        {
            // A read-only view from storage has no ETA of its own: the cluster summary derives one.
            dto = dto with { Build = Dto.ClusterSummary(build, _status) };
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(dto, WebJsonContext.Default.StreamEventDto);
        Append(seq => JournalEntry.ForEvent(seq, FormatId(seq), statusEvent.Kind, statusEvent.BuilderName, statusEvent.BuildNumber, json, fromOtherHost: true), null);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "The web event journal lost {Count} events of other hosts; open pages that show them reload their snapshot.")]
    private partial void LogOtherHostsMissed(long count);

    /// <summary>The receiver of the second subscription; ignores what is delivered after it was stopped.</summary>
    private sealed class OtherHostsReceiver(EventJournal journal) : IStatusReceiver
    {
        private volatile bool _stopped;

        public void Stop() => _stopped = true;

        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
        {
            if (!_stopped)
            {
                journal.OnOtherHostEvent(statusEvent);
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class OtherHostsRegistration(EventJournal journal) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                journal.ReleaseOtherHosts();
            }
        }
    }
}
