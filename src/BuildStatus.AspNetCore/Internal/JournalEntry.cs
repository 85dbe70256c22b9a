using System.Text;
using System.Text.Json;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// One status event in the replay buffer, shared by every stream that sends it: its whole Server-Sent Events frame
/// (<c>id</c> and <c>data</c> lines) is encoded to UTF-8 once, and each stream copies those bytes.
/// </summary>
/// <remarks>
/// <para>
/// Every entry but a <c>logChunk</c> is serialized when the journal receives it (on Core's delivery thread), from
/// the live objects as they are then. A <c>logChunk</c> entry keeps its head (the log's DTO, taken at append) and
/// its <see cref="LogLine"/>s, and is serialized the first time a stream that asked for <c>logChunk</c> reads
/// it: most clients never do (the page does not), and a chunk is most of a build's bytes.
/// </para>
/// <para>
/// Threading: immutable but for the lazily built chunk JSON (<c>_chunk</c>, <c>_frame</c>), which any stream
/// thread may build; two threads that race build the same bytes and either reference wins (a reference write is
/// atomic), so no lock is needed.
/// </para>
/// </remarks>
internal sealed class JournalEntry
{
    private static readonly byte[] IdField = "id: "u8.ToArray();
    private static readonly byte[] DataField = "\ndata: "u8.ToArray();
    private static readonly byte[] ResetField = "event: reset\n"u8.ToArray();
    private static readonly byte[] FrameEnd = "\n\n"u8.ToArray();
    private static readonly byte[] LinesEnd = "]}"u8.ToArray();

    private readonly StreamEventDto? _chunkHead;
    private readonly IReadOnlyList<LogLine>? _chunkLines;
    private ChunkJson? _chunk;
    private byte[]? _frame;
    private SseMessage? _message;

    private JournalEntry(long sequence, string id, StatusEventKinds kind, string? builderName, int? buildNumber)
    {
        Sequence = sequence;
        Id = id;
        Kind = kind;
        BuilderName = builderName;
        BuildNumber = buildNumber;
    }

    private JournalEntry(long sequence, string id, StatusEventKinds kind, string? builderName, int? buildNumber, StreamEventDto head, IReadOnlyList<LogLine> lines, string logKey)
        : this(sequence, id, kind, builderName, buildNumber)
    {
        _chunkHead = head;
        _chunkLines = lines;
        LogKey = logKey;
        long chars = 0;
        foreach (var line in lines)
        {
            chars += line.Text.Length;
        }

        // Held as UTF-16 strings (2 per char) and, once a stream asked for it, as UTF-8 JSON (about 1 per char and
        // some 20 per line): counted as that from the start, so the bound holds whether or not it is serialized.
        Bytes = 256 + (chars * 3) + (lines.Count * 24L);
    }

    /// <summary>Gets its position in the journal, 1, 2, 3… without gaps.</summary>
    public long Sequence { get; }

    /// <summary>Gets its event id (the journal's epoch and <see cref="Sequence"/>).</summary>
    public string Id { get; }

    /// <summary>Gets its kind, or <see cref="StatusEventKinds.None"/> for a reset marker.</summary>
    public StatusEventKinds Kind { get; }

    /// <summary>Gets the builder it concerns, if any (for filtering).</summary>
    public string? BuilderName { get; }

    /// <summary>Gets the build it concerns, if any (for filtering).</summary>
    public int? BuildNumber { get; }

    /// <summary>Gets the size it is counted for against <see cref="BuildStatusWebOptions.ReplayBufferBytes"/>.</summary>
    public long Bytes { get; private init; }

    /// <summary>
    /// Gets whether the entry is another host's event, or a reset that only concerns other hosts' events: only a
    /// stream that asked for other hosts' events (<see cref="StreamFilter.OtherHosts"/>) sends it.
    /// </summary>
    public bool FromOtherHost { get; private init; }

    /// <summary>Gets the log a <see cref="StatusEventKinds.LogChunk"/> belongs to, so that a slow stream can coalesce chunks per log.</summary>
    public string? LogKey { get; }

    /// <summary>Gets how many lines a <see cref="StatusEventKinds.LogChunk"/> entry carries.</summary>
    public int ChunkLineCount => _chunkLines?.Count ?? 0;

    /// <summary>Gets whether this is a <see cref="StatusEventKinds.LogChunk"/> entry (whose JSON <see cref="Chunk"/> gives in parts).</summary>
    public bool IsChunk => _chunkLines is not null;

    /// <summary>Gets whether this entry tells the stream that events were lost, so the client must reload its snapshot.</summary>
    public bool IsReset => Kind == StatusEventKinds.None;

    /// <summary>Gets the whole frame, UTF-8: <c>event: reset</c> for a reset, <c>id</c>, <c>data</c> (one line of JSON) and the blank line.</summary>
    public ReadOnlyMemory<byte> Frame => _frame ??= BuildChunkFrame();

    /// <summary>Gets the message a stream sends for this entry alone (one object for every stream).</summary>
    public SseMessage Message => _message ??= SseMessage.Encoded(Frame, IsReset ? "reset" : null, Id);

    /// <summary>Gets the event's JSON (for tests and diagnostics; streams copy <see cref="Frame"/>).</summary>
    public string Payload
    {
        get
        {
            var frame = Frame.Span;
            var data = frame.IndexOf(DataField) + DataField.Length;
            return Encoding.UTF8.GetString(frame[data..^FrameEnd.Length]);
        }
    }

    /// <summary>
    /// Gets a <see cref="StatusEventKinds.LogChunk"/> entry's JSON in two parts, so that chunks of one log merge by
    /// joining bytes: the head up to its line array (<c>…,"lines":[</c>), and the lines as array elements (no
    /// brackets). The JSON is the head, the lines and <c>]}</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is not a <see cref="StatusEventKinds.LogChunk"/> entry.</exception>
    public ChunkJson Chunk => _chunk ??= BuildChunk();

    /// <summary>Creates the entry of an event other than a <c>logChunk</c>.</summary>
    /// <param name="sequence">Its position in the journal.</param>
    /// <param name="id">Its event id.</param>
    /// <param name="kind">Its kind.</param>
    /// <param name="builderName">The builder it concerns, if any.</param>
    /// <param name="buildNumber">The build it concerns, if any.</param>
    /// <param name="json">The event's JSON (UTF-8).</param>
    /// <param name="fromOtherHost">Whether it is another host's event.</param>
    public static JournalEntry ForEvent(long sequence, string id, StatusEventKinds kind, string? builderName, int? buildNumber, byte[] json, bool fromOtherHost = false)
    {
        var frame = Compose(null, id, json);
        return new JournalEntry(sequence, id, kind, builderName, buildNumber) { _frame = frame, Bytes = frame.Length, FromOtherHost = fromOtherHost };
    }

    /// <summary>Creates the entry of a <c>logChunk</c>, serialized when a stream first needs it.</summary>
    /// <param name="sequence">Its position in the journal.</param>
    /// <param name="id">Its event id.</param>
    /// <param name="builderName">The builder it concerns.</param>
    /// <param name="buildNumber">The build it concerns.</param>
    /// <param name="head">The event's DTO without its lines (its log as it was at append).</param>
    /// <param name="lines">The chunk's lines.</param>
    /// <param name="logKey">Its log's <see cref="StreamEvents.LogKey"/>.</param>
    public static JournalEntry ForChunk(long sequence, string id, string? builderName, int? buildNumber, StreamEventDto head, IReadOnlyList<LogLine> lines, string logKey)
        => new(sequence, id, StatusEventKinds.LogChunk, builderName, buildNumber, head, lines, logKey);

    /// <summary>Creates a reset marker (its own <c>reset</c> event type), serialized now.</summary>
    /// <param name="sequence">Its position in the journal.</param>
    /// <param name="id">Its event id.</param>
    /// <param name="dto">The reset event.</param>
    /// <param name="fromOtherHosts">Whether only other hosts' events were lost (only streams that asked for them get it).</param>
    public static JournalEntry Reset(long sequence, string id, StreamEventDto dto, bool fromOtherHosts = false)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(dto, WebJsonContext.Default.StreamEventDto);
        var frame = Compose(ResetField, id, json);
        return new JournalEntry(sequence, id, StatusEventKinds.None, null, null) { _frame = frame, Bytes = frame.Length, FromOtherHost = fromOtherHosts };
    }

    /// <summary>Composes the frame of a merged <c>logChunk</c>: this entry's id and head, then the given lines.</summary>
    /// <param name="lines">The lines of several chunks of this entry's log, in order, as <see cref="ChunkJson.Lines"/> give them.</param>
    public byte[] MergedFrame(IReadOnlyList<ReadOnlyMemory<byte>> lines)
    {
        var head = Chunk.Head;
        var length = IdField.Length + Encoding.UTF8.GetByteCount(Id) + DataField.Length + head.Length + LinesEnd.Length + FrameEnd.Length;
        foreach (var part in lines)
        {
            length += part.Length + 1;
        }

        var frame = new byte[length];
        var at = WriteHeader(frame, null, Id);
        head.Span.CopyTo(frame.AsSpan(at));
        at += head.Length;
        var first = true;
        foreach (var part in lines)
        {
            if (part.IsEmpty)
            {
                continue;
            }

            if (!first)
            {
                frame[at++] = (byte)',';
            }

            part.Span.CopyTo(frame.AsSpan(at));
            at += part.Length;
            first = false;
        }

        LinesEnd.CopyTo(frame, at);
        at += LinesEnd.Length;
        FrameEnd.CopyTo(frame, at);
        at += FrameEnd.Length;
        return at == frame.Length ? frame : frame[..at];
    }

    private static byte[] Compose(byte[]? type, string id, ReadOnlySpan<byte> json)
    {
        // The serializer escapes line breaks, so the JSON is one data line.
        var frame = new byte[(type?.Length ?? 0) + IdField.Length + Encoding.UTF8.GetByteCount(id) + DataField.Length + json.Length + FrameEnd.Length];
        var at = WriteHeader(frame, type, id);
        json.CopyTo(frame.AsSpan(at));
        FrameEnd.CopyTo(frame, at + json.Length);
        return frame;
    }

    // Writes "[event: reset\n]id: <id>\ndata: " and returns where the data goes.
    private static int WriteHeader(byte[] frame, byte[]? type, string id)
    {
        var at = 0;
        if (type is not null)
        {
            type.CopyTo(frame, 0);
            at = type.Length;
        }

        IdField.CopyTo(frame, at);
        at += IdField.Length;
        at += Encoding.UTF8.GetBytes(id, frame.AsSpan(at));
        DataField.CopyTo(frame, at);
        return at + DataField.Length;
    }

    private byte[] BuildChunkFrame()
    {
        var chunk = Chunk;
        return MergedFrame([chunk.Lines]);
    }

    private ChunkJson BuildChunk()
    {
        if (_chunkHead is null || _chunkLines is null)
        {
            throw new InvalidOperationException($"Journal entry {Sequence} ({Kind}) is not a log chunk.");
        }

        var head = JsonSerializer.SerializeToUtf8Bytes(_chunkHead, WebJsonContext.Default.StreamEventDto);
        var prefix = new byte[head.Length - 1 + ",\"lines\":["u8.Length];
        head.AsSpan(0, head.Length - 1).CopyTo(prefix);
        ",\"lines\":["u8.CopyTo(prefix.AsSpan(head.Length - 1));
        var lines = JsonSerializer.SerializeToUtf8Bytes(_chunkLines.Select(Dto.Line).ToArray(), WebJsonContext.Default.IReadOnlyListLogLineDto);
        return new ChunkJson(prefix, lines.AsMemory(1, lines.Length - 2));
    }
}
