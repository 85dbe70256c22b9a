using System.Runtime.InteropServices;
using System.Text;
using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;

namespace BuildStatus.Process;

/// <summary>
/// A log of a step. Whole lines go to RAM (counts and a bounded tail), to subscribers, and to a pending
/// list the writer turns into stored chunks. Mutable state is guarded by the build's lock
/// (<see cref="Build.Sync"/>), except the committed counters, which the writer publishes.
/// </summary>
internal sealed class Log : PersistedEntity, ILog
{
    private readonly Step _step;
    private readonly Build _build;
    private readonly HostContext _ctx;

    // Guarded by _build.Sync.
    private long _lineCount;
    private long _byteCount;
    private bool _finished;
    private readonly LogLine[] _tail;
    private int _tailStart;
    private int _tailCount;
    private readonly string?[] _partial = new string?[3];

    // Storage side, guarded by _build.Sync. Stored numbering equals live numbering until the log exceeds
    // MaxLogBytes; from then on lines wait in _overflow (bounded by MaxLogTailBytes) for Finish.
    private List<LogLine> _pending = new(32);
    private long _pendingBytes;
    private long _storedLines;
    private long _storedBytes;
    private Queue<LogLine>? _overflow;
    private long _overflowBytes;
    private long _omittedLines;
    private long _omittedBytes;

    // Written by the writer: the snapshot in flight, then what is committed.
    private long _snapshotLines;
    private long _snapshotBytes;
    private bool _snapshotFinished;
    private long _committedLines;
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
        _tail = new LogLine[Math.Max(0, _ctx.Options.LogTailLines)];
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
                var copy = new LogLine[_tailCount];
                for (var i = 0; i < _tailCount; i++)
                {
                    copy[i] = _tail[(_tailStart + i) % _tail.Length];
                }

                return copy;
            }
        }
    }

    public IPersistentLog Persistent
    {
        get
        {
            var committed = Interlocked.Read(ref _committedLines);
            return new PersistentLog(new StoredLog(Key, Name, Kind, _committedFinished, committed, Interlocked.Read(ref _snapshotBytes)), _ctx);
        }
    }

    internal LogKey Key => new(_build.Owner.Name, _build.Number, _step.Number, Number);

    // Caller holds _build.Sync.
    internal bool IsFinishedLocked => _finished;

    internal long CommittedLines => Interlocked.Read(ref _committedLines);

    internal bool CommittedFinished => _committedFinished;

    public ValueTask AppendAsync(LogChannel channel, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckChannel(channel);
        if (_ctx.Pipeline.IsFull)
        {
            return AppendSlowAsync(channel, text, split: true, cancellationToken);
        }

        AppendCore(channel, text, split: true);
        return ValueTask.CompletedTask;
    }

    public ValueTask AppendLineAsync(LogChannel channel, string line, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(line);
        CheckChannel(channel);
        if (_ctx.Pipeline.IsFull)
        {
            return AppendSlowAsync(channel, line, split: false, cancellationToken);
        }

        AppendCore(channel, line, split: false);
        return ValueTask.CompletedTask;
    }

    private async ValueTask AppendSlowAsync(LogChannel channel, string text, bool split, CancellationToken cancellationToken)
    {
        while (_ctx.Pipeline.IsFull)
        {
            lock (_build.Sync)
            {
                ThrowIfFinished();
            }

            await _ctx.Pipeline.WaitForSpaceAsync(cancellationToken).ConfigureAwait(false);
        }

        AppendCore(channel, text, split);
    }

    private static void CheckChannel(LogChannel channel)
    {
        if ((uint)channel > (uint)LogChannel.Header)
        {
            throw new ArgumentOutOfRangeException(nameof(channel), channel, "Not a defined LogChannel value.");
        }
    }

    private void AppendCore(LogChannel channel, string text, bool split)
    {
        lock (_build.Sync)
        {
            ThrowIfFinished();
            var firstNew = _lineCount;
            var bytesBefore = _pendingBytes;
            var c = (int)channel;
            if (!split)
            {
                // A whole line. Flush a partial line of this channel first, so order is kept.
                if (_partial[c] is { } head)
                {
                    _partial[c] = null;
                    text = head + text;
                }

                if (text.AsSpan().IndexOf('\n') < 0)
                {
                    AddLine(channel, TrimCr(text));
                }
                else
                {
                    SplitInto(channel, text + "\n");
                }
            }
            else
            {
                SplitInto(channel, text);
            }

            AfterAppend(firstNew, bytesBefore);
        }
    }

    // Caller holds _build.Sync.
    private void SplitInto(LogChannel channel, string text)
    {
        var c = (int)channel;
        var span = text.AsSpan();
        var start = 0;
        while (true)
        {
            var nl = span[start..].IndexOf('\n');
            if (nl < 0)
            {
                break;
            }

            var end = start + nl;
            string line;
            if (_partial[c] is { } head)
            {
                _partial[c] = null;
                line = string.Concat(head.AsSpan(), span[start..end]);
            }
            else if (start == 0 && end == text.Length - 1)
            {
                line = text[..end];
            }
            else
            {
                line = text[start..end];
            }

            AddLine(channel, TrimCr(line));
            start = end + 1;
        }

        if (start < text.Length)
        {
            var rest = text[start..];
            _partial[c] = _partial[c] is { } head ? head + rest : rest;
        }
    }

    private static string TrimCr(string line)
        => line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    // Caller holds _build.Sync.
    private void AddLine(LogChannel channel, string text)
    {
        text = Guard.Text(text);
        var bytes = Encoding.UTF8.GetByteCount(text);
        var line = new LogLine(_lineCount++, channel, text);
        _byteCount += bytes;

        if (_tail.Length > 0)
        {
            if (_tailCount < _tail.Length)
            {
                _tail[(_tailStart + _tailCount) % _tail.Length] = line;
                _tailCount++;
            }
            else
            {
                _tail[_tailStart] = line;
                _tailStart = (_tailStart + 1) % _tail.Length;
            }
        }

        var max = _ctx.Options.MaxLogBytes;
        if (max <= 0 || (_overflow is null && _storedBytes + bytes <= max))
        {
            _pending.Add(line.Number == _storedLines ? line : line with { Number = _storedLines });
            _storedLines++;
            _storedBytes += bytes;
            _pendingBytes += bytes;
            return;
        }

        // Over MaxLogBytes: keep only the last MaxLogTailBytes in RAM until Finish.
        _overflow ??= new Queue<LogLine>();
        _overflow.Enqueue(line);
        _overflowBytes += bytes;
        while (_overflowBytes > _ctx.Options.MaxLogTailBytes && _overflow.Count > 0)
        {
            var dropped = _overflow.Dequeue();
            var droppedBytes = Encoding.UTF8.GetByteCount(dropped.Text);
            _overflowBytes -= droppedBytes;
            _omittedLines++;
            _omittedBytes += droppedBytes;
        }
    }

    // Caller holds _build.Sync.
    private void AfterAppend(long firstNew, long pendingBytesBefore)
    {
        var added = _pendingBytes - pendingBytesBefore;
        if (added > 0)
        {
            _ctx.Pipeline.AddPendingBytes(added);
        }

        if (_pending.Count > 0)
        {
            _ctx.Pipeline.MarkDirty(this);
        }

        if (_lineCount > firstNew && _ctx.Hub.HasSubscribers)
        {
            var count = (int)(_lineCount - firstNew);
            var lines = new LogLine[Math.Min(count, _tailCount)];
            if (lines.Length == count)
            {
                for (var i = 0; i < count; i++)
                {
                    lines[i] = _tail[(_tailStart + _tailCount - count + i) % _tail.Length];
                }

                _ctx.Hub.Publish(new LogChunk(this, lines) { Timestamp = _ctx.Now });
            }
            else
            {
                // The tail is smaller than the append; the pending list holds the lines unless they overflowed.
                var fromPending = _pending.Where(l => l.Number >= firstNew).ToArray();
                _ctx.Hub.Publish(new LogChunk(this, fromPending) { Timestamp = _ctx.Now });
            }
        }
    }

    public void Finish()
    {
        lock (_build.Sync)
        {
            ThrowIfFinished();
            FinishLocked();
        }
    }

    // Caller holds _build.Sync.
    internal void FinishLocked()
    {
        var firstNew = _lineCount;
        var bytesBefore = _pendingBytes;
        for (var c = 0; c < _partial.Length; c++)
        {
            if (_partial[c] is { } rest)
            {
                _partial[c] = null;
                AddLine((LogChannel)c, TrimCr(rest));
            }
        }

        if (_overflow is not null)
        {
            var marker = $"[BuildStatus: {_omittedLines} lines ({_omittedBytes} bytes) omitted here: the log exceeded MaxLogBytes ({_ctx.Options.MaxLogBytes} bytes); its last {_overflow.Count} lines follow]";
            AddStored(new LogLine(0, LogChannel.Header, marker));
            foreach (var line in _overflow)
            {
                AddStored(line);
            }

            _overflow = null;
            _overflowBytes = 0;
        }

        _finished = true;
        AfterAppend(firstNew, bytesBefore);
        _ctx.Pipeline.MarkDirty(this);
        _ctx.Publish(this, static (l, t) => new LogFinished(l) { Timestamp = t });
    }

    // Caller holds _build.Sync.
    private void AddStored(LogLine line)
    {
        var bytes = Encoding.UTF8.GetByteCount(line.Text);
        _pending.Add(line with { Number = _storedLines++ });
        _storedBytes += bytes;
        _pendingBytes += bytes;
    }

    // Caller holds _build.Sync.
    private void ThrowIfFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException($"Cannot append to log '{Name}' of {_step}: the log has finished.");
        }
    }

    internal override void AppendTo(BatchBuilder batch)
    {
        var key = Key;
        if (_pending.Count > 0)
        {
            var maxLines = Math.Max(1, _ctx.Options.LogChunkMaxLines);
            var maxBytes = Math.Max(1, _ctx.Options.LogChunkMaxBytes);
            var start = 0;
            var bytes = 0L;
            for (var i = 0; i < _pending.Count; i++)
            {
                var lineBytes = _pending[i].Text.Length; // UTF-16 length bounds the chunk well enough and costs nothing
                if (i > start && (i - start >= maxLines || bytes + lineBytes > maxBytes))
                {
                    batch.Chunks.Add(new StoredLogChunk(key, CollectionsMarshal.AsSpan(_pending).Slice(start, i - start).ToArray()));
                    start = i;
                    bytes = 0;
                }

                bytes += lineBytes;
            }

            if (start == 0)
            {
                // The whole pending list is one chunk: hand the list itself to the batch (this log never touches it
                // again) and start a new one sized like it, so a log's lines are neither copied nor regrown.
                batch.Chunks.Add(new StoredLogChunk(key, _pending));
                _pending = new List<LogLine>(_finished ? 0 : _pending.Count);
            }
            else
            {
                batch.Chunks.Add(new StoredLogChunk(key, CollectionsMarshal.AsSpan(_pending)[start..].ToArray()));
                _pending.Clear();
            }
        }

        batch.LogBytes += _pendingBytes;
        _pendingBytes = 0;
        _snapshotLines = _storedLines;
        Interlocked.Exchange(ref _snapshotBytes, _storedBytes);
        _snapshotFinished = _finished;
        batch.Add(this, new StoredLog(key, Name, Kind, _finished, _storedLines, _storedBytes));
    }

    internal override void OnCommitted()
    {
        Interlocked.Exchange(ref _committedLines, _snapshotLines);
        _committedFinished = _snapshotFinished;
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
}
