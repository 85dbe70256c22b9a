using System.Buffers;
using System.IO.Compression;
using System.Text;

// Compiled into each storage backend (linked from src/Shared), in the backend's own namespace and with its own
// compression enum, so both store the same bytes for a chunk without a shared public type.
#if BUILDSTATUS_POSTGRES
namespace BuildStatus.Storage.Postgres.Internal;

using ChunkCodec = BuildStatus.Storage.Postgres.PostgresLogCompression;
#else
namespace BuildStatus.Storage.Sqlite.Internal;

using ChunkCodec = BuildStatus.Storage.Sqlite.LogCompression;
#endif

/// <summary>
/// Encodes a chunk's lines so their text round-trips verbatim (per line: the channel byte, the UTF-8 length as a
/// 7-bit varint, the UTF-8 bytes; line numbers are implicit from the chunk's first line), and compresses the
/// result when that makes it smaller. Stateless apart from its immutable settings, so safe from any thread.
/// </summary>
/// <remarks>
/// The format is the first schema's, unchanged, so every stored chunk stays readable without a migration. Encoding
/// copies the bytes of <see cref="StoredLogChunk.Utf8Text"/> and never builds a string; decoding builds one per line.
/// </remarks>
internal sealed class LogChunkCodec
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ChunkCodec _compression;
    private readonly CompressionLevel _level;

    public LogChunkCodec(ChunkCodec compression, CompressionLevel level)
    {
        _compression = compression;
        _level = level;
    }

    /// <summary>Encodes and (when it helps) compresses the lines of <paramref name="chunk"/>, straight from its UTF-8 text.</summary>
    /// <returns>The codec actually used and the blob.</returns>
    public (ChunkCodec Codec, byte[] Content) Encode(StoredLogChunk chunk) => Encode(chunk.Utf8Text.Span, chunk.Channels.Span);

    /// <summary>
    /// Encodes and (when it helps) compresses lines given as UTF-8, each followed by <c>'\n'</c> (which no line
    /// contains), with one channel byte per line: the form of <see cref="StoredLogChunk.Utf8Text"/> and
    /// <see cref="StoredLogChunk.Channels"/>. Not checked here; the chunk's constructor (or the caller) has done so.
    /// </summary>
    /// <returns>The codec actually used and the blob.</returns>
    public (ChunkCodec Codec, byte[] Content) Encode(ReadOnlySpan<byte> utf8Text, ReadOnlySpan<byte> channels)
    {
        // Each line's '\n' becomes its channel byte and a varint of at most 5 bytes is added, so the text's length
        // plus 5 per line bounds the raw form. One pooled buffer, so a chunk costs one allocation: the stored blob.
        // (Measured: sizing the blob exactly first and writing into it, to skip the final copy, was slower.)
        var rented = ArrayPool<byte>.Shared.Rent((int)Math.Min(utf8Text.Length + (5L * channels.Length), Array.MaxLength));
        try
        {
            var raw = rented.AsSpan(0, WriteRaw(utf8Text, channels, rented));
            if (_compression != ChunkCodec.None)
            {
                var compressed = Compress(_compression, _level, raw);
                if (compressed.Length < raw.Length)
                {
                    return (_compression, compressed);
                }
            }

            return (ChunkCodec.None, raw.ToArray());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Per line: the channel byte, the UTF-8 length as a varint, the UTF-8 bytes (copied, never decoded).
    private static int WriteRaw(ReadOnlySpan<byte> utf8Text, ReadOnlySpan<byte> channels, Span<byte> destination)
    {
        var length = 0;
        foreach (var channel in channels)
        {
            var end = utf8Text.IndexOf((byte)'\n');
            destination[length++] = channel;
            if (end < 0x80)
            {
                destination[length++] = (byte)end;
            }
            else
            {
                length += WriteVarint(destination[length..], (uint)end);
            }

            utf8Text[..end].CopyTo(destination[length..]);
            length += end;
            utf8Text = utf8Text[(end + 1)..];
        }

        return length;
    }

    /// <summary>
    /// Decodes the lines <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive) of a chunk whose first
    /// line is <paramref name="firstLine"/>, appending them to <paramref name="output"/>; lines before
    /// <paramref name="from"/> are skipped without building strings.
    /// </summary>
    public static void Decode(ChunkCodec codec, byte[] content, long firstLine, long from, long to, List<LogLine> output)
    {
        var raw = codec == ChunkCodec.None ? content : Decompress(codec, content);
        var span = raw.AsSpan();
        var number = firstLine;
        while (!span.IsEmpty && number < to)
        {
            var channel = (LogChannel)span[0];
            var length = (int)ReadVarint(span[1..], out var varintLength);
            span = span[(1 + varintLength)..];
            if (number >= from)
            {
                output.Add(new LogLine(number, channel, StrictUtf8.GetString(span[..length])));
            }

            span = span[length..];
            number++;
        }
    }

    /// <summary>
    /// Encodes every chunk of a batch, on all cores when there are several: the store does this before it takes its
    /// write lock, so compression neither holds the lock nor runs in series with the SQL.
    /// </summary>
    public (ChunkCodec Codec, byte[] Content)[] EncodeAll(IReadOnlyList<StoredLogChunk> chunks)
    {
        var encoded = new (ChunkCodec, byte[])[chunks.Count];
        if (chunks.Count < 4 || Environment.ProcessorCount == 1)
        {
            for (var i = 0; i < encoded.Length; i++)
            {
                encoded[i] = Encode(chunks[i]);
            }
        }
        else
        {
            Parallel.For(0, encoded.Length, i => encoded[i] = Encode(chunks[i]));
        }

        return encoded;
    }

    // Brotli qualities matching BrotliStream's CompressionLevel mapping; 22 is Brotli's default window.
    private static int BrotliQuality(CompressionLevel level) => level switch
    {
        CompressionLevel.NoCompression => 0,
        CompressionLevel.Fastest => 1,
        CompressionLevel.SmallestSize => 11,
        _ => 4,
    };

    private static byte[] Compress(ChunkCodec codec, CompressionLevel level, ReadOnlySpan<byte> raw)
    {
        if (codec == ChunkCodec.Brotli)
        {
            // One-shot encode into a pooled buffer: no stream, no growing MemoryStream, one exact-size copy.
            var rented = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(raw.Length));
            try
            {
                if (BrotliEncoder.TryCompress(raw, rented, out var written, BrotliQuality(level), 22))
                {
                    return rented.AsSpan(0, written).ToArray();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        using var output = new MemoryStream(raw.Length / 3 + 64);
        using (var stream = CreateCompressor(codec, level, output))
        {
            stream.Write(raw);
        }

        return output.ToArray();
    }

    private static Stream CreateCompressor(ChunkCodec codec, CompressionLevel level, Stream output) => codec switch
    {
        ChunkCodec.Deflate => new DeflateStream(output, level, leaveOpen: true),
        ChunkCodec.Gzip => new GZipStream(output, level, leaveOpen: true),
        ChunkCodec.Brotli => new BrotliStream(output, level, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "Unknown codec."),
    };

    private static byte[] Decompress(ChunkCodec codec, byte[] content)
    {
        using var input = new MemoryStream(content, writable: false);
        using Stream stream = codec switch
        {
            ChunkCodec.Deflate => new DeflateStream(input, CompressionMode.Decompress),
            ChunkCodec.Gzip => new GZipStream(input, CompressionMode.Decompress),
            ChunkCodec.Brotli => new BrotliStream(input, CompressionMode.Decompress),
            _ => throw new BuildStoreException($"A stored log chunk has unknown codec {(int)codec}; it was written by a newer version of {typeof(LogChunkCodec).Assembly.GetName().Name}."),
        };
        using var output = new MemoryStream(content.Length * 4);
        stream.CopyTo(output);
        return output.ToArray();
    }

    private static int WriteVarint(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    private static uint ReadVarint(ReadOnlySpan<byte> source, out int length)
    {
        uint value = 0;
        var shift = 0;
        for (length = 0; ; shift += 7)
        {
            var b = source[length++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
