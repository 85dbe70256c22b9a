using System.Diagnostics;
using System.Globalization;
using System.Text;
using BuildStatus.Internal;

namespace BuildStatus.Storage;

/// <summary>
/// Consecutive whole lines of one log, held as UTF-8: <see cref="Utf8Text"/> is every line's text followed by
/// <c>'\n'</c>, and <see cref="Channels"/> has one byte per line. Immutable once constructed, so a backend may keep
/// a reference to it (or to its memory) for as long as it likes.
/// </summary>
/// <remarks>
/// <para>
/// Core hands chunks to <see cref="IBuildStore.ApplyAsync"/> in this form, without a string per line: a backend
/// that stores bytes (SQLite, a file, a blob store) writes <see cref="Utf8Text"/> as it is; one that wants strings
/// reads <see cref="Lines"/>, which decodes on first use.
/// </para>
/// <para>
/// A line never contains <c>'\n'</c> (logs are split into lines there). Lone UTF-16 surrogates in text given as
/// strings become U+FFFD, as they would in any UTF-8 store.
/// </para>
/// </remarks>
public sealed class StoredLogChunk
{
    private static readonly UTF8Encoding Lenient = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly ReadOnlyMemory<byte> _text;
    private readonly ReadOnlyMemory<byte> _channels;
    private IReadOnlyList<LogLine>? _lines;

    /// <summary>Creates a chunk from lines given as strings.</summary>
    /// <param name="log">The log.</param>
    /// <param name="lines">The lines: at least one, numbered consecutively from a non-negative number, none with <see langword="null"/> text or a <c>'\n'</c> in it, every channel defined.</param>
    /// <exception cref="ArgumentNullException"><paramref name="lines"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="lines"/> breaks one of the rules above; the message says which line.</exception>
    public StoredLogChunk(LogKey log, IReadOnlyList<LogLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            throw new ArgumentException($"A chunk of log {log} needs at least one line.", nameof(lines));
        }

        var first = lines[0].Number;
        if (first < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"A chunk of log {log} starts at negative line {first}."), nameof(lines));
        }

        long size = lines.Count;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Number != first + i)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"A chunk of log {log} has line {line.Number} at position {i}; lines must be numbered consecutively from the first, {first}, so it must be {first + i}."),
                    nameof(lines));
            }

            if (line.Text is null)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Line {line.Number} of a chunk of log {log} has null text; a line has text, empty if need be."), nameof(lines));
            }

            if (line.Text.Contains('\n', StringComparison.Ordinal))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Line {line.Number} of a chunk of log {log} contains '\\n'; a line never does (split the text into lines first)."), nameof(lines));
            }

            if ((uint)line.Channel > (uint)LogChannel.Header)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Line {line.Number} of a chunk of log {log} has channel {(int)line.Channel}, which is not a defined LogChannel value."), nameof(lines));
            }

            size += Lenient.GetByteCount(line.Text);
        }

        var buffer = new byte[checked((int)(size + lines.Count))];
        var length = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            length += Lenient.GetBytes(lines[i].Text, buffer.AsSpan(length));
            buffer[length++] = (byte)'\n';
        }

        var channels = buffer.AsSpan(length);
        for (var i = 0; i < lines.Count; i++)
        {
            channels[i] = (byte)lines[i].Channel;
        }

        Log = log;
        FirstLine = first;
        LineCount = lines.Count;
        _text = buffer.AsMemory(0, length);
        _channels = buffer.AsMemory(length, lines.Count);
    }

    /// <summary>Creates a chunk from UTF-8 text, without copying it; the memory must not change afterwards.</summary>
    /// <param name="log">The log.</param>
    /// <param name="firstLine">The number of the first line; not negative.</param>
    /// <param name="utf8Text">Valid UTF-8: every line's text followed by <c>'\n'</c>.</param>
    /// <param name="channels">One <see cref="LogChannel"/> value per line, as a byte; at least one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLine"/> is negative.</exception>
    /// <exception cref="ArgumentException">The text is not valid UTF-8, does not end with <c>'\n'</c>, or has a different number of lines than <paramref name="channels"/>; or a channel is undefined.</exception>
    public StoredLogChunk(LogKey log, long firstLine, ReadOnlyMemory<byte> utf8Text, ReadOnlyMemory<byte> channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstLine);
        var text = utf8Text.Span;
        if (channels.IsEmpty)
        {
            throw new ArgumentException($"A chunk of log {log} needs at least one line.", nameof(channels));
        }

        if (text.IsEmpty || text[^1] != (byte)'\n')
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The text of a chunk of log {log} must be {channels.Length} lines, each followed by '\\n', but it does not end with '\\n'."),
                nameof(utf8Text));
        }

        var newlines = text.Count((byte)'\n');
        if (newlines != channels.Length)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The text of a chunk of log {log} has {newlines} '\\n' (one after each line), but {channels.Length} channels were given; there must be one channel byte per line."),
                nameof(utf8Text));
        }

        if (!System.Text.Unicode.Utf8.IsValid(text))
        {
            throw new ArgumentException($"The text of a chunk of log {log} is not valid UTF-8.", nameof(utf8Text));
        }

        var undefined = channels.Span.IndexOfAnyExceptInRange((byte)0, (byte)LogChannel.Header);
        if (undefined >= 0)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"Line {firstLine + undefined} of a chunk of log {log} has channel {channels.Span[undefined]}, which is not a defined LogChannel value."),
                nameof(channels));
        }

        Log = log;
        FirstLine = firstLine;
        LineCount = channels.Length;
        _text = utf8Text;
        _channels = channels;
    }

    // Core's own path: the Log built the buffer (valid UTF-8, one '\n' per line) and hands it over.
    internal StoredLogChunk(LogKey log, long firstLine, int lineCount, ReadOnlyMemory<byte> utf8Text, ReadOnlyMemory<byte> channels)
    {
        Log = log;
        FirstLine = firstLine;
        LineCount = lineCount;
        _text = utf8Text;
        _channels = channels;
    }

    /// <summary>Gets the log the lines belong to.</summary>
    public LogKey Log { get; }

    /// <summary>Gets the number of the first line.</summary>
    public long FirstLine { get; }

    /// <summary>Gets the number of the last line.</summary>
    public long LastLine => FirstLine + LineCount - 1;

    /// <summary>Gets how many lines the chunk holds (at least one).</summary>
    public int LineCount { get; }

    /// <summary>Gets the lines' text as UTF-8: each line followed by <c>'\n'</c>, which no line contains.</summary>
    public ReadOnlyMemory<byte> Utf8Text => _text;

    /// <summary>Gets each line's <see cref="LogChannel"/>, one byte per line.</summary>
    public ReadOnlyMemory<byte> Channels => _channels;

    /// <summary>Gets how many UTF-8 bytes the lines' text holds, not counting the <c>'\n'</c> after each.</summary>
    public long TextByteCount => _text.Length - LineCount;

    /// <summary>Gets the lines as strings, decoded on first use and then kept.</summary>
    public IReadOnlyList<LogLine> Lines => _lines ?? Interlocked.CompareExchange(ref _lines, Decode(), null) ?? _lines;

    /// <summary>Gets the channel of the line at <paramref name="index"/> (0 is <see cref="FirstLine"/>).</summary>
    /// <param name="index">The position in the chunk.</param>
    /// <returns>The channel.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside the chunk.</exception>
    public LogChannel GetChannel(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, LineCount);
        return (LogChannel)_channels.Span[index];
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"lines {FirstLine}-{LastLine} of log {Log}");

    /// <summary>Decodes lines without keeping them (a store that holds chunks reads a range this way).</summary>
    /// <param name="index">The position of the first line (0 is <see cref="FirstLine"/>).</param>
    /// <param name="destination">Receives the lines; its length is how many.</param>
    internal void DecodeLines(int index, Span<LogLine> destination)
    {
        Debug.Assert(index >= 0 && index + destination.Length <= LineCount, "The range lies within the chunk.");
        if (_lines is { } decoded)
        {
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = decoded[index + i];
            }

            return;
        }

        Utf8LineBuffer.Decode(_text.Span, _channels.Span, FirstLine, index, destination);
    }

    private LogLine[] Decode()
    {
        var lines = new LogLine[LineCount];
        Utf8LineBuffer.Decode(_text.Span, _channels.Span, FirstLine, 0, lines);
        return lines;
    }
}
