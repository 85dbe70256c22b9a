using System.Buffers;
using System.Diagnostics;
using System.Text;
using BuildStatus.Storage;

namespace BuildStatus.Internal;

/// <summary>
/// Consecutive whole log lines held as UTF-8 in pooled arrays, in the layout of <see cref="StoredLogChunk"/>:
/// every line's text followed by <c>'\n'</c>, plus one channel byte per line. Lines are appended at the end and
/// dropped from the front, so one type serves a log's pending lines, its tail and its over-size tail.
/// </summary>
/// <remarks>
/// <para>
/// Not thread-safe: the owner guards it (a log keeps its buffers under its build's lock, <c>Build.Sync</c>).
/// </para>
/// <para>
/// Dropping from the front only moves offsets. When an array is full its live part is moved to the front
/// (compaction) if that leaves at least half the array free, else copied into an array twice the size it needs; so
/// every byte is moved a bounded number of times on average. Arrays come from <see cref="ArrayPool{T}.Shared"/>
/// and go back on <see cref="Release"/>; a buffer that is dropped without it just leaves them to the GC.
/// </para>
/// </remarks>
internal sealed class Utf8LineBuffer
{
    // First sizes: a few lines of typical build output. Arrays then double as needed.
    private const int MinTextCapacity = 1024;
    private const int MinLineCapacity = 32;

    private byte[]? _text;     // live text is _text[_start.._end): each line followed by '\n'
    private int[]? _ends;      // _ends[_first + i]: offset in _text just past line i's '\n'
    private byte[]? _channels; // _channels[_first + i]: line i's LogChannel
    private int _start;
    private int _end;
    private int _first;
    private int _count;

    /// <summary>Initializes a new, empty instance of the <see cref="Utf8LineBuffer"/> class.</summary>
    /// <param name="firstLine">The number the first appended line gets.</param>
    public Utf8LineBuffer(long firstLine = 0)
    {
        FirstLine = firstLine;
    }

    /// <summary>Gets the number of the first line held (numbers advance as lines are dropped).</summary>
    public long FirstLine { get; private set; }

    /// <summary>Gets how many lines are held.</summary>
    public int Count => _count;

    /// <summary>Gets the number the next appended line gets.</summary>
    public long NextLine => FirstLine + _count;

    /// <summary>Gets the UTF-8 bytes of the lines' text, not counting the <c>'\n'</c> after each.</summary>
    public int TextByteCount => _end - _start - _count;

    /// <summary>Gets the size of the text array held (0 when none is), to decide whether to release it.</summary>
    public int TextCapacity => _text?.Length ?? 0;

    /// <summary>Gets the bytes of the pooled arrays held (0 after <see cref="Release"/>).</summary>
    public long PooledBytes => (_text?.Length ?? 0) + ((long)(_ends?.Length ?? 0) * sizeof(int)) + (_channels?.Length ?? 0);

    /// <summary>Gets how many UTF-8 bytes <paramref name="text"/> encodes to, a lone surrogate counting as U+FFFD (3 bytes).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The byte count.</returns>
    public static int GetByteCount(ReadOnlySpan<char> text) => Encoding.UTF8.GetByteCount(text);

    /// <summary>
    /// Appends a line given as UTF-16. A lone surrogate becomes U+FFFD, exactly as <see cref="Guard.Text"/> followed
    /// by UTF-8 encoding would make it (<see cref="Encoding.UTF8"/> replaces each invalid UTF-16 unit with one U+FFFD).
    /// </summary>
    /// <param name="channel">The line's channel.</param>
    /// <param name="text">The line's text; must not contain <c>'\n'</c>.</param>
    /// <returns>The UTF-8 bytes of the line's text (no <c>'\n'</c>), valid until the buffer next changes.</returns>
    public ReadOnlySpan<byte> Append(LogChannel channel, ReadOnlySpan<char> text) => Append(channel, text, GetByteCount(text));

    /// <summary>Appends a line given as UTF-16 whose UTF-8 size the caller has already computed with <see cref="GetByteCount"/>.</summary>
    /// <param name="channel">The line's channel.</param>
    /// <param name="text">The line's text; must not contain <c>'\n'</c>.</param>
    /// <param name="byteCount">What <see cref="GetByteCount"/> returned for <paramref name="text"/>.</param>
    /// <returns>The UTF-8 bytes of the line's text (no <c>'\n'</c>), valid until the buffer next changes.</returns>
    public ReadOnlySpan<byte> Append(LogChannel channel, ReadOnlySpan<char> text, int byteCount)
    {
        Debug.Assert(!text.Contains('\n'), "A line holds no '\\n'.");
        Debug.Assert(byteCount == GetByteCount(text), "The byte count is the text's.");
        Reserve(checked(byteCount + 1), 1);
        var at = _end;
        var written = Encoding.UTF8.GetBytes(text, _text.AsSpan(at, byteCount));
        Debug.Assert(written == byteCount, "GetBytes writes what GetByteCount counted.");
        Commit(channel, byteCount);
        return _text.AsSpan(at, byteCount);
    }

    /// <summary>Appends a line given as valid UTF-8.</summary>
    /// <param name="channel">The line's channel.</param>
    /// <param name="utf8">The line's text: valid UTF-8 without <c>'\n'</c> (Core's own bytes, so not checked).</param>
    public void AppendUtf8(LogChannel channel, ReadOnlySpan<byte> utf8)
    {
        Debug.Assert(!utf8.Contains((byte)'\n'), "A line holds no '\\n'.");
        Reserve(checked(utf8.Length + 1), 1);
        utf8.CopyTo(_text.AsSpan(_end));
        Commit(channel, utf8.Length);
    }

    /// <summary>Appends lines of another buffer, numbering them on from <see cref="NextLine"/>.</summary>
    /// <param name="source">The other buffer (not this one).</param>
    /// <param name="index">The position of the first line to copy in <paramref name="source"/>.</param>
    /// <param name="count">How many lines to copy.</param>
    public void AppendFrom(Utf8LineBuffer source, int index, int count)
    {
        Debug.Assert(!ReferenceEquals(source, this), "Copy from another buffer.");
        source.CheckRange(index, count);
        if (count == 0)
        {
            return;
        }

        var from = source.LineStart(index);
        var length = source.LineEnd(index + count - 1) - from;
        Reserve(length, count);
        source._text.AsSpan(from, length).CopyTo(_text.AsSpan(_end));
        source._channels.AsSpan(source._first + index, count).CopyTo(_channels.AsSpan(_first + _count));
        var shift = _end - from;
        var ends = source._ends.AsSpan(source._first + index, count);
        var target = _ends.AsSpan(_first + _count, count);
        for (var i = 0; i < count; i++)
        {
            target[i] = ends[i] + shift;
        }

        _end += length;
        _count += count;
    }

    /// <summary>Gets the UTF-8 text of the line at <paramref name="index"/> (0 is <see cref="FirstLine"/>), without its <c>'\n'</c>.</summary>
    /// <param name="index">The position.</param>
    /// <returns>The bytes, valid until the buffer next changes.</returns>
    public ReadOnlySpan<byte> GetLine(int index)
    {
        CheckRange(index, 1);
        var start = LineStart(index);
        return _text.AsSpan(start, LineEnd(index) - start - 1);
    }

    /// <summary>Gets the UTF-8 byte count of the line at <paramref name="index"/>, without its <c>'\n'</c>.</summary>
    /// <param name="index">The position.</param>
    /// <returns>The byte count.</returns>
    public int GetLineByteCount(int index)
    {
        CheckRange(index, 1);
        return LineEnd(index) - LineStart(index) - 1;
    }

    /// <summary>Gets the channel of the line at <paramref name="index"/>.</summary>
    /// <param name="index">The position.</param>
    /// <returns>The channel.</returns>
    public LogChannel GetChannel(int index)
    {
        CheckRange(index, 1);
        return (LogChannel)_channels![_first + index];
    }

    /// <summary>Drops the first <paramref name="count"/> lines; <see cref="FirstLine"/> advances by as many.</summary>
    /// <param name="count">How many lines; at most <see cref="Count"/>.</param>
    public void DropFirst(int count)
    {
        CheckRange(0, count);
        if (count == _count)
        {
            Clear();
            return;
        }

        if (count > 0)
        {
            _start = _ends![_first + count - 1];
            _first += count;
            _count -= count;
            FirstLine += count;
        }
    }

    /// <summary>Drops lines from the front while <see cref="TextByteCount"/> exceeds <paramref name="maxTextBytes"/>.</summary>
    /// <param name="maxTextBytes">The most text bytes to keep.</param>
    /// <param name="droppedBytes">The text bytes dropped (no <c>'\n'</c>).</param>
    /// <returns>How many lines were dropped.</returns>
    public int DropFirstWhileOver(long maxTextBytes, out long droppedBytes)
    {
        var before = TextByteCount;
        var dropped = 0;
        var bytes = (long)before;
        while (dropped < _count && bytes > maxTextBytes)
        {
            bytes -= LineEnd(dropped) - LineStart(dropped) - 1;
            dropped++;
        }

        DropFirst(dropped);
        droppedBytes = before - bytes;
        return dropped;
    }

    /// <summary>Drops every line, keeping the arrays for reuse; <see cref="FirstLine"/> advances past them.</summary>
    public void Clear()
    {
        FirstLine += _count;
        _start = _end = _first = _count = 0;
    }

    /// <summary>Drops every line (as <see cref="Clear"/> does) and gives the arrays back to the pool.</summary>
    public void Release()
    {
        Clear();
        if (_text is not null)
        {
            ArrayPool<byte>.Shared.Return(_text);
            ArrayPool<int>.Shared.Return(_ends!);
            ArrayPool<byte>.Shared.Return(_channels!);
            _text = null;
            _ends = null;
            _channels = null;
        }
    }

    /// <summary>Decodes lines into strings, numbered from <see cref="FirstLine"/>.</summary>
    /// <param name="index">The position of the first line.</param>
    /// <param name="count">How many lines.</param>
    /// <returns>A new array of the lines.</returns>
    public LogLine[] ToLines(int index, int count)
    {
        CheckRange(index, count);
        if (count == 0)
        {
            return [];
        }

        var lines = new LogLine[count];
        for (var i = 0; i < count; i++)
        {
            lines[i] = new LogLine(FirstLine + index + i, GetChannel(index + i), Encoding.UTF8.GetString(GetLine(index + i)));
        }

        return lines;
    }

    /// <summary>
    /// Copies lines into ONE new array of exactly the size they need: their text (each line followed by
    /// <c>'\n'</c>), then one channel byte per line.
    /// </summary>
    /// <param name="index">The position of the first line.</param>
    /// <param name="count">How many lines.</param>
    /// <param name="textLength">The length of the text part, at the start of the array.</param>
    /// <returns>The array.</returns>
    public byte[] CopyOut(int index, int count, out int textLength)
    {
        CheckRange(index, count);
        if (count == 0)
        {
            textLength = 0;
            return [];
        }

        var from = LineStart(index);
        textLength = LineEnd(index + count - 1) - from;
        var copy = GC.AllocateUninitializedArray<byte>(checked(textLength + count));
        _text.AsSpan(from, textLength).CopyTo(copy);
        _channels.AsSpan(_first + index, count).CopyTo(copy.AsSpan(textLength));
        return copy;
    }

    /// <summary>Copies lines into a new chunk of <paramref name="log"/> numbered from <see cref="FirstLine"/>, backed by one exact-size array.</summary>
    /// <param name="log">The log.</param>
    /// <param name="index">The position of the first line.</param>
    /// <param name="count">How many lines; at least one.</param>
    /// <returns>The chunk.</returns>
    public StoredLogChunk ToChunk(LogKey log, int index, int count)
    {
        Debug.Assert(count > 0, "A chunk has at least one line.");
        var copy = CopyOut(index, count, out var textLength);
        return new StoredLogChunk(log, FirstLine + index, count, copy.AsMemory(0, textLength), copy.AsMemory(textLength, count));
    }

    /// <summary>Decodes lines held in the layout <see cref="CopyOut"/> makes (text with '\n' after each line, then channels).</summary>
    /// <param name="text">The text of <paramref name="channels"/>.Length lines, each followed by <c>'\n'</c>.</param>
    /// <param name="channels">One channel byte per line.</param>
    /// <param name="firstLine">The number of the first line in <paramref name="text"/>.</param>
    /// <param name="index">The position of the first line to decode.</param>
    /// <param name="destination">Receives the lines; its length is how many to decode.</param>
    public static void Decode(ReadOnlySpan<byte> text, ReadOnlySpan<byte> channels, long firstLine, int index, Span<LogLine> destination)
    {
        Debug.Assert(index >= 0 && index + destination.Length <= channels.Length, "The range lies within the lines.");
        for (var i = 0; i < index; i++)
        {
            text = text[(text.IndexOf((byte)'\n') + 1)..];
        }

        for (var i = 0; i < destination.Length; i++)
        {
            var end = text.IndexOf((byte)'\n');
            destination[i] = new LogLine(firstLine + index + i, (LogChannel)channels[index + i], Encoding.UTF8.GetString(text[..end]));
            text = text[(end + 1)..];
        }
    }

    private int LineStart(int index) => index == 0 ? _start : _ends![_first + index - 1];

    private int LineEnd(int index) => _ends![_first + index];

    private void CheckRange(int index, int count)
    {
        if ((uint)index > (uint)_count || (uint)count > (uint)(_count - index))
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"Lines {index}..+{count} are outside the {_count} lines held.");
        }
    }

    // Records a line whose text (byteCount bytes) was just written at _end; adds its '\n'.
    private void Commit(LogChannel channel, int byteCount)
    {
        _end += byteCount;
        _text![_end++] = (byte)'\n';
        _ends![_first + _count] = _end;
        _channels![_first + _count] = (byte)channel;
        _count++;
    }

    // Makes room for `bytes` more bytes and `lines` more lines at the end.
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_text), nameof(_ends), nameof(_channels))]
    private void Reserve(int bytes, int lines)
    {
        if (_text is null || _ends is null || _channels is null)
        {
            _text = ArrayPool<byte>.Shared.Rent(Math.Max(MinTextCapacity, bytes));
            _ends = ArrayPool<int>.Shared.Rent(Math.Max(MinLineCapacity, lines));
            _channels = ArrayPool<byte>.Shared.Rent(_ends.Length);
            return;
        }

        if (bytes > _text.Length - _end)
        {
            // Compact when the live text plus the new bytes fill at most half the array; else move to one twice that size.
            var live = _end - _start;
            var need = (long)live + bytes;
            var target = need * 2 <= _text.Length ? _text : Rent<byte>(need);
            _text.AsSpan(_start, live).CopyTo(target);
            if (!ReferenceEquals(target, _text))
            {
                ArrayPool<byte>.Shared.Return(_text);
                _text = target;
            }

            var shift = _start;
            var ends = _ends.AsSpan(_first, _count);
            for (var i = 0; i < ends.Length; i++)
            {
                ends[i] -= shift;
            }

            _start = 0;
            _end = live;
        }

        if (lines > _ends.Length - _first - _count)
        {
            // The same rule for the per-line arrays, which move together.
            var need = (long)_count + lines;
            if (need * 2 <= _ends.Length)
            {
                _ends.AsSpan(_first, _count).CopyTo(_ends);
                _channels.AsSpan(_first, _count).CopyTo(_channels);
            }
            else
            {
                var ends = Rent<int>(need);
                var channels = ArrayPool<byte>.Shared.Rent(ends.Length);
                _ends.AsSpan(_first, _count).CopyTo(ends);
                _channels.AsSpan(_first, _count).CopyTo(channels);
                ArrayPool<int>.Shared.Return(_ends);
                ArrayPool<byte>.Shared.Return(_channels);
                _ends = ends;
                _channels = channels;
            }

            _first = 0;
        }
    }

    // Rents an array for `need` elements with as many again free, so the next move is as far away as this one cost.
    private static T[] Rent<T>(long need)
    {
        if (need > Array.MaxLength)
        {
            throw new InvalidOperationException($"A log buffer cannot hold more than {Array.MaxLength} bytes or lines; {need} are needed.");
        }

        return ArrayPool<T>.Shared.Rent((int)Math.Min(need * 2, Array.MaxLength));
    }
}
