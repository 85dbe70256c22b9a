using System.IO.Compression;
using System.Text;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>
/// The stored log chunk format as documented since the first schema, written here by hand and independently of
/// <c>LogChunkCodec</c> so the tests notice if the codec's output ever changes: per line, the channel byte, the
/// UTF-8 length as a little-endian base-128 varint (7 bits a byte, high bit set on all but the last), then the
/// UTF-8 bytes; the whole blob optionally compressed with the codec recorded in the row.
/// </summary>
internal static class OriginalChunkFormat
{
    public static byte[] Raw(IEnumerable<(LogChannel Channel, string Text)> lines)
    {
        using var blob = new MemoryStream();
        foreach (var (channel, text) in lines)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            blob.WriteByte((byte)channel);
            for (var length = (uint)bytes.Length; ; length >>= 7)
            {
                if (length < 0x80)
                {
                    blob.WriteByte((byte)length);
                    break;
                }

                blob.WriteByte((byte)(0x80 | (length & 0x7F)));
            }

            blob.Write(bytes);
        }

        return blob.ToArray();
    }

    public static byte[] Compress(LogCompression codec, byte[] raw)
    {
        if (codec == LogCompression.None)
        {
            return raw;
        }

        using var output = new MemoryStream();
        using (var stream = Compressor(codec, output, CompressionMode.Compress))
        {
            stream.Write(raw);
        }

        return output.ToArray();
    }

    public static byte[] Decompress(LogCompression codec, byte[] content)
    {
        if (codec == LogCompression.None)
        {
            return content;
        }

        using var output = new MemoryStream();
        using (var stream = Compressor(codec, new MemoryStream(content), CompressionMode.Decompress))
        {
            stream.CopyTo(output);
        }

        return output.ToArray();
    }

    private static Stream Compressor(LogCompression codec, Stream stream, CompressionMode mode) => codec switch
    {
        LogCompression.Deflate => new DeflateStream(stream, mode),
        LogCompression.Gzip => new GZipStream(stream, mode),
        LogCompression.Brotli => new BrotliStream(stream, mode),
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, null),
    };
}
