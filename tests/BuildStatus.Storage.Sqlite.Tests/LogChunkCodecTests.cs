using System.IO.Compression;
using System.Text;
using BuildStatus.Storage.Sqlite.Internal;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class LogChunkCodecTests
{
    private static readonly LogCompression[] Codecs = [LogCompression.None, LogCompression.Deflate, LogCompression.Gzip, LogCompression.Brotli];
    private static readonly LogKey Log = new("linux", 1, 1, 1);

    // Every channel, empty lines, '\r' and NUL inside lines, multi-byte UTF-8, and lengths on each side of the
    // varint's 1-, 2- and 3-byte boundaries, up to a 100 KB line.
    private static readonly (LogChannel Channel, string Text)[] TrickyLines =
    [
        (LogChannel.Stdout, string.Empty),
        (LogChannel.Stderr, "plain"),
        (LogChannel.Header, string.Empty),
        (LogChannel.Stdout, "carriage\rreturn inside, and one at the end\r"),
        (LogChannel.Stderr, "\r"),
        (LogChannel.Header, "nul\0inside\0"),
        (LogChannel.Stdout, "tab\tand \"quotes\" and 'single' -- ; DROP TABLE builds;"),
        (LogChannel.Stderr, "emoji 🚀, accents éàü, CJK 漢字, U+FFFD \uFFFD"),
        (LogChannel.Header, "\u001b[31mANSI red\u001b[0m"),
        (LogChannel.Stdout, new string('a', 127)),
        (LogChannel.Stderr, new string('b', 128)),
        (LogChannel.Header, string.Concat(Enumerable.Repeat("é漢", 40))),
        (LogChannel.Stdout, new string('c', 16_383)),
        (LogChannel.Stderr, new string('d', 16_384)),
        (LogChannel.Header, new string('x', 100_000)),
        (LogChannel.Stdout, string.Empty),
    ];

    [TestCaseSource(nameof(Codecs))]
    public void Encode_TrickyLines_DecodesToTheSameLines(LogCompression codec)
    {
        var chunk = TestData.Chunk(Log, 100, TrickyLines);
        var (storedCodec, content) = new LogChunkCodec(codec, CompressionLevel.Fastest).Encode(chunk);
        var decoded = new List<LogLine>();

        LogChunkCodec.Decode(storedCodec, content, 100, 0, long.MaxValue, decoded);

        Assert.Multiple(() =>
        {
            Assert.That(storedCodec, Is.EqualTo(codec));
            Assert.That(decoded, Is.EqualTo(TrickyLines.Select((l, i) => new LogLine(100 + i, l.Channel, l.Text))));
        });
    }

    [TestCaseSource(nameof(Codecs))]
    public void Encode_TrickyLines_WritesTheOriginalFormat(LogCompression codec)
    {
        var (storedCodec, content) = new LogChunkCodec(codec, CompressionLevel.Fastest).Encode(TestData.Chunk(Log, 0, TrickyLines));

        Assert.That(OriginalChunkFormat.Decompress(storedCodec, content), Is.EqualTo(OriginalChunkFormat.Raw(TrickyLines)));
    }

    [Test]
    public void Encode_SmallChunk_WritesChannelVarintLengthAndBytesPerLine()
    {
        (LogChannel, string)[] lines = [(LogChannel.Stderr, "hé"), (LogChannel.Header, new string('a', 200)), (LogChannel.Stdout, string.Empty)];

        var (codec, content) = new LogChunkCodec(LogCompression.None, CompressionLevel.Fastest).Encode(TestData.Chunk(Log, 0, lines));

        // "hé" is 3 UTF-8 bytes; 200 is the varint 0xC8 0x01 (low 7 bits first, high bit = more).
        byte[] expected = [0x01, 0x03, (byte)'h', 0xC3, 0xA9, 0x02, 0xC8, 0x01, .. Enumerable.Repeat((byte)'a', 200), 0x00, 0x00];
        Assert.Multiple(() =>
        {
            Assert.That(codec, Is.EqualTo(LogCompression.None));
            Assert.That(content, Is.EqualTo(expected));
        });
    }

    [TestCaseSource(nameof(Codecs))]
    public void Decode_BlobInOriginalFormat_ReturnsTheLinesInRange(LogCompression codec)
    {
        var content = OriginalChunkFormat.Compress(codec, OriginalChunkFormat.Raw(TrickyLines));
        var all = new List<LogLine>();
        var some = new List<LogLine>();

        LogChunkCodec.Decode(codec, content, 50, 0, long.MaxValue, all);
        LogChunkCodec.Decode(codec, content, 50, 60, 65, some);

        var expected = TrickyLines.Select((l, i) => new LogLine(50 + i, l.Channel, l.Text)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(all, Is.EqualTo(expected));
            Assert.That(some, Is.EqualTo(expected.GetRange(10, 5)));
        });
    }

    [Test]
    public void Encode_ChunkOverSliceOfLargerBuffer_EncodesOnlyItsOwnLines()
    {
        // Core hands chunks that are slices of its own buffers: bytes before and after must not leak in.
        var text = Encoding.UTF8.GetBytes("before\nfirst\n\nthird é\nafter\n");
        byte[] channels = [0, 1, 2, 0, 1];
        var sliced = new StoredLogChunk(Log, 7, text.AsMemory(7, 16), channels.AsMemory(1, 3));
        var codec = new LogChunkCodec(LogCompression.None, CompressionLevel.Fastest);

        var (_, content) = codec.Encode(sliced);

        Assert.That(content, Is.EqualTo(OriginalChunkFormat.Raw([(LogChannel.Stderr, "first"), (LogChannel.Header, string.Empty), (LogChannel.Stdout, "third é")])));
    }

    [Test]
    public void Encode_ChunkFromStringsOrFromUtf8_SameBlob()
    {
        var lines = TrickyLines.Select((l, i) => new LogLine(i, l.Channel, l.Text)).ToList();
        var codec = new LogChunkCodec(LogCompression.Brotli, CompressionLevel.Fastest);

        var fromStrings = codec.Encode(new StoredLogChunk(Log, lines));
        var fromUtf8 = codec.Encode(TestData.Chunk(Log, 0, TrickyLines));

        Assert.Multiple(() =>
        {
            Assert.That(fromStrings.Codec, Is.EqualTo(fromUtf8.Codec));
            Assert.That(fromStrings.Content, Is.EqualTo(fromUtf8.Content));
        });
    }

    [TestCase(LogCompression.None)]
    [TestCase(LogCompression.Brotli)]
    public void EncodeAll_ManyChunks_SameAsEncodingEachInOrder(LogCompression compression)
    {
        // Enough chunks to take the parallel path on a multi-core machine.
        var chunks = TestData.Chunks(Log, 0, 2_000, 97, TestData.CompilerLine);
        var codec = new LogChunkCodec(compression, CompressionLevel.Fastest);

        var all = codec.EncodeAll(chunks);

        Assert.Multiple(() =>
        {
            Assert.That(all, Has.Length.EqualTo(chunks.Count));
            for (var i = 0; i < chunks.Count; i++)
            {
                var one = codec.Encode(chunks[i]);
                Assert.That(all[i].Codec, Is.EqualTo(one.Codec), $"chunk {i}");
                Assert.That(all[i].Content, Is.EqualTo(one.Content), $"chunk {i}");
            }
        });
    }
}
