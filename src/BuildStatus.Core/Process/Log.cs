using System.Buffers;
using System.Text;
using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;

namespace BuildStatus.Process;

/// <summary>
/// A log of a step. Whole lines go to RAM (counts and a bounded tail), to subscribers, and to a pending
/// buffer the writer turns into stored chunks. Mutable state is guarded by the build's lock
/// (<see cref="Build.Sync"/>), except the committed counters, which the writer publishes.
/// </summary>
/// <remarks>
/// Lines are held as UTF-8 in pooled <see cref="Utf8LineBuffer"/>s, not as strings: appending allocates nothing per
/// line unless someone subscribes to <see cref="LogChunk"/> events (or <see cref="Tail"/> is read). A finished log
/// gives its pooled arrays back once the writer has taken its lines, and keeps its tail in one exact-size array,
/// since it stays in RAM as long as its build is recent.
/// </remarks>
internal sealed class Log : PersistedEntity, ILog
{
    // An emptied pending buffer larger than this gives its arrays back, so an open but idle log does not hold
    // what a burst of output needed (the writer lagging under a slow backend).
    private const int KeepPendingCapacity = 64 * 1024;

    private readonly Step _step;
    private readonly Build _build;
    private readonly HostContext _ctx;
    private readonly int _tailLines;

    // Guarded by _build.Sync.
    private long _lineCount;
    private long _byteCount;
    private bool _finished;

    // The live tail, guarded by _build.Sync: the last _tailLines lines in live numbering while the log is open
    // (null when LogTailLines is 0); once finished, in _finishedTail: text then channels, as StoredLogChunk holds them.
    private Utf8LineBuffer? _tail;
    private byte[]? _finishedTail;
    private int _finishedTailCount;

    // A trailing piece without '\n' per channel, guarded by _build.Sync; chars, so a surrogate pair split across two
    // appends is joined before it is encoded. Each holds at most MaxLineLength chars; their total (_partialChars)
    // counts against the pipeline's queue bound at two bytes a char.
    private readonly PartialLine[] _partial = new PartialLine[3];
    private long _partialChars;

    // Guarded by _build.Sync: collects the lines of the current append for a LogChunk event while someone listens.
    private List<LogLine>? _eventLines;
    private List<LogLine>? _eventScratch;

    // Storage side, guarded by _build.Sync. Stored numbering equals live numbering until the log exceeds
    // MaxLogBytes; from then on lines wait in _overflow (bounded by MaxLogTailBytes) for Finish.
    // _pending holds every line not yet seen committed: its first _inFlight lines are in snapshots the writer is
    // committing (it drops them in OnCommitted), the rest are new. _pending.FirstLine is the stored number of its
    // first line, so _pending.NextLine == _storedLines. _pendingBytes: bytes of the new lines, not yet in a snapshot.
    // _poisoned: the backend rejected some of this log's lines, so nothing more of it is stored.
    private readonly Utf8LineBuffer _pending = new();
    private int _inFlight;
    private long _pendingBytes;
    private Exception? _poisoned;
    private long _storedLines;
    private long _storedBytes;
    private Utf8LineBuffer? _overflow;
    private long _omittedLines;
    private long _omittedBytes;

    // Written by the writer only (OnCommitted), read anywhere (Interlocked / volatile): what is committed.
    private long _committedLines;
    private long _committedBytes;
    private volatile bool _committedFinished;

    // Guards _committedChanged: completed and replaced each time a commit adds lines or finishes the log.
    private readonly Lock _commitLock = new();
    private TaskCompletionSource _committedChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Log(Step step, int number, string name, LogKind kind)
    {
        _step = step;
        _build = step.Owner;
        _ctx = _build.Context;
        Number = number;
        Name = name;
        Kind = kind;
        _tailLines = Math.Max(0, _ctx.Options.LogTailLines);
        _tail = _tailLines > 0 ? new Utf8LineBuffer() : null;
    }

    internal override Lock SyncRoot => _build.Sync;

    public IStepStatus Step => _step;

    public int Number { get; }

    public string Name { get; }

    public LogKind Kind { get; }

    public bool IsFinished
    {
        get
        {
            lock (_build.Sync)
            {
                return _finished;
            }
        }
    }

    public long LineCount
    {
        get
        {
            lock (_build.Sync)
            {
                return _lineCount;
            }
        }
    }

    public long ByteCount
    {
        get
        {
            lock (_build.Sync)
            {
                return _byteCount;
            }
        }
    }

    public IReadOnlyList<LogLine> Tail
    {
        get
        {
            lock (_build.Sync)
            {
                if (_tail is not null)
                {
                    return _tail.ToLines(0, _tail.Count);
                }

                if (_finishedTail is not { } packed)
                {
                    return [];
                }

                // The tail of a finished log ends at its last live line.
                var lines = new LogLine[_finishedTailCount];
                var textLength = packed.Length - lines.Length;
                Utf8LineBuffer.Decode(packed.AsSpan(0, textLength), packed.AsSpan(textLength), _lineCount - lines.Length, 0, lines);
                return lines;
            }
        }
    }

    public IPersistentLog Persistent
    {
        get
        {
            var committed = Interlocked.Read(ref _committedLines);
            return new PersistentLog(new StoredLog(Key, Name, Kind, _committedFinished, committed, Interlocked.Read(ref _committedBytes)), _ctx);
        }
    }

    internal LogKey Key => new(_build.Owner.Name, _build.Number, _step.Number, Number);

    internal override Build? OutboxBuild => _build;

    // Caller holds _build.Sync.
    internal bool IsFinishedLocked => _finished;

    internal long CommittedLines => Interlocked.Read(ref _committedLines);

    internal bool CommittedFinished => _committedFinished;

    /// <summary>Gets the bytes of pooled arrays the log holds (its buffers and partial lines); for tests.</summary>
    internal long PooledBytes
    {
        get
        {
            lock (_build.Sync)
            {
                var bytes = _pending.PooledBytes + (_tail?.PooledBytes ?? 0) + (_overflow?.PooledBytes ?? 0);
                foreach (var partial in _partial)
                {
                    bytes += partial.PooledBytes;
                }

                return bytes;
            }
        }
    }

    public ValueTask AppendAsync(LogChannel channel, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Append(channel, text.AsMemory(), endsLine: false, cancellationToken);
    }

    public ValueTask AppendAsync(LogChannel channel, ReadOnlyMemory<char> text, CancellationToken cancellationToken = default)
        => Append(channel, text, endsLine: false, cancellationToken);

    public ValueTask AppendLineAsync(LogChannel channel, string line, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(line);
        return Append(channel, line.AsMemory(), endsLine: true, cancellationToken);
    }

    private ValueTask Append(LogChannel channel, ReadOnlyMemory<char> text, bool endsLine, CancellationToken cancellationToken)
    {
        CheckChannel(channel);
        if (_ctx.Pipeline.IsFull)
        {
            return AppendSlowAsync(channel, text, endsLine, cancellationToken);
        }

        AppendCore(channel, text.Span, endsLine);
        return ValueTask.CompletedTask;
    }

    // The caller's memory must stay unchanged until this completes (ILog.AppendAsync says so); it is copied in AppendCore.
    private async ValueTask AppendSlowAsync(LogChannel channel, ReadOnlyMemory<char> text, bool endsLine, CancellationToken cancellationToken)
    {
        while (_ctx.Pipeline.IsFull)
        {
            lock (_build.Sync)
            {
                ThrowIfFinished();
            }

            if (_ctx.Host.IsStopped)
            {
                _ctx.ThrowIfStopped(this);
            }

            await _ctx.Pipeline.WaitForSpaceAsync(cancellationToken).ConfigureAwait(false);
        }

        AppendCore(channel, text.Span, endsLine);
    }

    private static void CheckChannel(LogChannel channel)
    {
        if ((uint)channel > (uint)LogChannel.Header)
        {
            throw new ArgumentOutOfRangeException(nameof(channel), channel, "Not a defined LogChannel value.");
        }
    }

    // Splits text at '\n' into lines; a trailing piece waits in the channel's partial line, unless endsLine says the
    // text ends a line (AppendLineAsync: the same as appending text + "\n").
    private void AppendCore(LogChannel channel, ReadOnlySpan<char> text, bool endsLine)
    {
        lock (_build.Sync)
        {
            ThrowIfFinished();
            var pendingBytesBefore = _pendingBytes;
            var partialCharsBefore = _partialChars;
            BeginEvents();
            ref var partial = ref _partial[(int)channel];
            while (true)
            {
                var nl = text.IndexOf('\n');
                if (nl < 0)
                {
                    break;
                }

                AddPiece(channel, ref partial, text[..nl], endsLine: true);
                text = text[(nl + 1)..];
            }

            if (endsLine || !text.IsEmpty)
            {
                AddPiece(channel, ref partial, text, endsLine);
            }

            AfterAppend(pendingBytesBefore, partialCharsBefore);
        }
    }

    // Caller holds _build.Sync. Adds a piece of text without '\n' after the channel's partial line, splitting it so
    // that no line is longer than MaxLineLength chars (never between the two halves of a surrogate pair); the last
    // piece becomes a line when endsLine, or waits in the partial line.
    private void AddPiece(LogChannel channel, ref PartialLine partial, ReadOnlySpan<char> piece, bool endsLine)
    {
        var max = Math.Max(16, _ctx.Options.MaxLineLength);
        while (partial.Length + piece.Length > max)
        {
            var take = max - partial.Length;
            if (take > 0 && char.IsHighSurrogate(piece[take - 1]))
            {
                take--;
            }

            AddLine(channel, ref partial, piece[..take]);
            piece = piece[take..];
        }

        if (endsLine)
        {
            AddLine(channel, ref partial, piece);
        }
        else if (!piece.IsEmpty)
        {
            partial.Append(piece);
            _partialChars += piece.Length;
        }
    }

    // Caller holds _build.Sync. Adds a line that ends here, after what the channel's partial line holds.
    private void AddLine(LogChannel channel, ref PartialLine partial, ReadOnlySpan<char> end)
    {
        if (partial.Length == 0)
        {
            AddLine(channel, TrimCr(end));
            return;
        }

        partial.Append(end);
        _partialChars -= partial.Length - end.Length;
        AddLine(channel, TrimCr(partial.Text));
        partial.Clear();
    }

    private static ReadOnlySpan<char> TrimCr(ReadOnlySpan<char> line)
        => line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    // Caller holds _build.Sync. Encodes the line once, into the pending or the overflow buffer, and copies the bytes to the tail.
    private void AddLine(LogChannel channel, ReadOnlySpan<char> text)
    {
        var bytes = Utf8LineBuffer.GetByteCount(text);
        var number = _lineCount++;
        _byteCount += bytes;

        var max = _ctx.Options.MaxLogBytes;
        var stored = max <= 0 || (_overflow is null && _storedBytes + bytes <= max);
        ReadOnlySpan<byte> utf8;
        if (stored)
        {
            utf8 = _pending.Append(channel, text, bytes);
            _storedLines++;
            _storedBytes += bytes;
            _pendingBytes += bytes;
        }
        else
        {
            // Over MaxLogBytes: keep only the last MaxLogTailBytes in RAM until Finish (trimmed below).
            _overflow ??= new Utf8LineBuffer();
            utf8 = _overflow.Append(channel, text, bytes);
        }

        if (_tail is not null)
        {
            _tail.AppendUtf8(channel, utf8);
            if (_tail.Count > _tailLines)
            {
                _tail.DropFirst(_tail.Count - _tailLines);
            }
        }

        _eventLines?.Add(new LogLine(number, channel, Encoding.UTF8.GetString(utf8)));

        if (!stored)
        {
            _omittedLines += _overflow!.DropFirstWhileOver(_ctx.Options.MaxLogTailBytes, out var droppedBytes);
            _omittedBytes += droppedBytes;
        }
    }

    // Caller holds _build.Sync. Starts collecting the lines of an append for a LogChunk event, if anyone listens.
    private void BeginEvents()
    {
        if (_ctx.Hub.HasSubscribers)
        {
            _eventLines = _eventScratch ??= [];
            _eventLines.Clear();
        }
        else
        {
            _eventLines = null;
        }
    }

    // Caller holds _build.Sync.
    private void AfterAppend(long pendingBytesBefore, long partialCharsBefore)
    {
        var lineBytes = _pendingBytes - pendingBytesBefore;
        var partialBytes = (_partialChars - partialCharsBefore) * sizeof(char);
        if (lineBytes != 0 || partialBytes != 0)
        {
            _ctx.Pipeline.AddPendingBytes(lineBytes, partialBytes);
        }

        if (_pending.Count > _inFlight)
        {
            _ctx.Pipeline.MarkDirty(this);
        }

        if (_eventLines is { } lines)
        {
            _eventLines = null;
            if (lines.Count > 0)
            {
                _ctx.Hub.Publish(new LogChunk(this, lines.ToArray()) { Timestamp = _ctx.Now });
                lines.Clear();
            }
        }
    }

    public void Finish()
    {
        lock (_build.Sync)
        {
            ThrowIfFinished("finish");
            FinishLocked();
        }
    }

    // Caller holds _build.Sync.
    internal void FinishLocked()
    {
        var pendingBytesBefore = _pendingBytes;
        var partialCharsBefore = _partialChars;
        BeginEvents();
        EndPartialLines();

        if (_overflow is { } overflow)
        {
            var marker = $"[BuildStatus: {_omittedLines} lines ({_omittedBytes} bytes) omitted here: the log exceeded MaxLogBytes ({_ctx.Options.MaxLogBytes} bytes); its last {overflow.Count} lines follow]";
            var markerBytes = Utf8LineBuffer.GetByteCount(marker);
            _pending.Append(LogChannel.Header, marker, markerBytes);
            _pending.AppendFrom(overflow, 0, overflow.Count);
            _storedLines += 1 + overflow.Count;
            _storedBytes += markerBytes + overflow.TextByteCount;
            _pendingBytes += markerBytes + overflow.TextByteCount;
            overflow.Release();
            _overflow = null;
        }

        // The tail stops changing: keep it in one exact-size array and give the pooled ones back.
        if (_tail is { } tail)
        {
            _finishedTailCount = tail.Count;
            _finishedTail = tail.Count > 0 ? tail.CopyOut(0, tail.Count, out _) : null;
            tail.Release();
            _tail = null;
        }

        _finished = true;
        AfterAppend(pendingBytesBefore, partialCharsBefore);
        _eventScratch = null;
        _ctx.Pipeline.MarkDirty(this);
        _ctx.Publish(this, static (l, t) => new LogFinished(l) { Timestamp = t });
    }

    // Caller holds _build.Sync. Each channel's partial line becomes a line of its own.
    private void EndPartialLines()
    {
        for (var c = 0; c < _partial.Length; c++)
        {
            ref var partial = ref _partial[c];
            if (partial.Length > 0)
            {
                AddLine((LogChannel)c, TrimCr(partial.Text));
            }

            partial.Release();
        }

        _partialChars = 0;
    }

    /// <summary>
    /// For a graceful stop: ends each channel's partial line, so the text is stored as a line instead of being lost
    /// with the host. The log stays open.
    /// </summary>
    internal void EndPartialLinesForStop()
    {
        lock (_build.Sync)
        {
            if (_finished || _partialChars == 0)
            {
                return;
            }

            var pendingBytesBefore = _pendingBytes;
            var partialCharsBefore = _partialChars;
            BeginEvents();
            EndPartialLines();
            AfterAppend(pendingBytesBefore, partialCharsBefore);
        }
    }

    // Caller holds _build.Sync.
    private void ThrowIfFinished(string action = "append to")
    {
        _ctx.ThrowIfStopped(this);
        if (_finished)
        {
            throw new InvalidOperationException($"Cannot {action} log '{Name}' of {_step}: the log has finished.");
        }
    }

    // Called by the writer with _build.Sync held: copies the lines not yet in a snapshot into chunks of at most
    // LogChunkMaxLines lines and LogChunkMaxBytes bytes (a longer line is a chunk of its own), each chunk backed by
    // one exact-size array, so the batch never shares the pooled buffer. Non-destructive: the lines stay in _pending
    // until OnCommitted (or OnDropped) for this snapshot; only the last statements change the log's state.
    internal override bool IsLost => _build.IsLost;

    internal override void AppendTo(EntitySnapshot snapshot)
    {
        if (_poisoned is null && _build.IsLost)
        {
            _poisoned = new InstanceFencedException($"{this} was lost: this host's instance was fenced.");
        }

        if (_poisoned is not null)
        {
            // Nothing more of this log is stored: release what waits.
            snapshot.LogBytes = _pendingBytes;
            _pendingBytes = 0;
            _pending.Release();
            _inFlight = 0;
            return;
        }

        var key = Key;
        var count = _pending.Count;
        List<StoredLogChunk>? chunks = null;
        if (count > _inFlight)
        {
            chunks = [];
            var maxLines = Math.Max(1, _ctx.Options.LogChunkMaxLines);
            var maxBytes = Math.Max(1, _ctx.Options.LogChunkMaxBytes);
            var start = _inFlight;
            var bytes = 0L;
            for (var i = start; i < count; i++)
            {
                var lineBytes = _pending.GetLineByteCount(i);
                if (i > start && (i - start >= maxLines || bytes + lineBytes > maxBytes))
                {
                    chunks.Add(_pending.ToChunk(key, start, i - start));
                    start = i;
                    bytes = 0;
                }

                bytes += lineBytes;
            }

            chunks.Add(_pending.ToChunk(key, start, count - start));
        }

        snapshot.Row = new StoredLog(key, Name, Kind, _finished, _storedLines, _storedBytes);
        snapshot.Chunks = chunks;
        snapshot.Lines = count - _inFlight;
        snapshot.LogBytes = _pendingBytes;
        _inFlight = count;
        _pendingBytes = 0;
    }

    internal override void OnCommitted(EntitySnapshot snapshot)
    {
        lock (_build.Sync)
        {
            if (_poisoned is null)
            {
                var lines = Math.Min(snapshot.Lines, _inFlight);
                _pending.DropFirst(lines);
                _inFlight -= lines;
                if (_pending.Count == 0 && (_finished || _pending.TextCapacity > KeepPendingCapacity))
                {
                    // Nothing more comes (finished), or a burst left a big buffer behind: give the arrays back.
                    _pending.Release();
                }
            }
        }

        if (snapshot.Row is not StoredLog committed)
        {
            return;
        }

        Interlocked.Exchange(ref _committedBytes, committed.ByteCount);
        Interlocked.Exchange(ref _committedLines, committed.LineCount);
        _committedFinished = committed.IsFinished;
        SignalCommitted();
    }

    internal override void OnDropped(EntitySnapshot snapshot, Exception cause)
    {
        lock (_build.Sync)
        {
            _poisoned ??= cause;
            _pending.Release();
            _inFlight = 0;
        }

        _build.RecordDrop(cause);
        SignalCommitted();
    }

    /// <summary>Gets why this log's lines stopped being stored, or <see langword="null"/>.</summary>
    internal Exception? DroppedCause
    {
        get
        {
            lock (_build.Sync)
            {
                return _poisoned;
            }
        }
    }

    private void SignalCommitted()
    {
        TaskCompletionSource changed;
        lock (_commitLock)
        {
            changed = _committedChanged;
            _committedChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Completes when more than <paramref name="lines"/> lines are committed or the log is committed as finished.</summary>
    internal Task WaitForCommittedAsync(long lines, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_commitLock)
        {
            if (Interlocked.Read(ref _committedLines) > lines || _committedFinished)
            {
                return Task.CompletedTask;
            }

            wait = _committedChanged.Task;
        }

        return wait.WaitAsync(cancellationToken);
    }

    public override string ToString() => $"log '{Name}' of {_step}";

    /// <summary>A channel's trailing piece of text without '\n' yet, in a pooled char array. Guarded by the log's lock.</summary>
    private struct PartialLine
    {
        // A partial line longer than this gives its array back once it is complete, so a rare huge line is not kept.
        private const int KeepCapacity = 16 * 1024;

        private char[]? _chars;

        public int Length { get; private set; }

        public readonly ReadOnlySpan<char> Text => _chars.AsSpan(0, Length);

        public readonly long PooledBytes => (_chars?.Length ?? 0) * (long)sizeof(char);

        public void Append(ReadOnlySpan<char> text)
        {
            if (_chars is null || _chars.Length - Length < text.Length)
            {
                var need = (long)Length + text.Length;
                var larger = ArrayPool<char>.Shared.Rent((int)Math.Min(Math.Max(256, need * 2), Array.MaxLength));
                Text.CopyTo(larger);
                if (_chars is not null)
                {
                    ArrayPool<char>.Shared.Return(_chars);
                }

                _chars = larger;
            }

            text.CopyTo(_chars.AsSpan(Length));
            Length += text.Length;
        }

        public void Clear()
        {
            Length = 0;
            if (_chars is { Length: > KeepCapacity })
            {
                Release();
            }
        }

        public void Release()
        {
            Length = 0;
            if (_chars is not null)
            {
                ArrayPool<char>.Shared.Return(_chars);
                _chars = null;
            }
        }
    }
}
