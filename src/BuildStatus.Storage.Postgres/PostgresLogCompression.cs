namespace BuildStatus.Storage.Postgres;

/// <summary>
/// How stored log chunks are compressed. Each chunk records its own codec, so changing this setting only affects
/// chunks written afterwards and every stored chunk stays readable. The stored numbers never change (they are the
/// same as BuildStatus.Storage.Sqlite's).
/// </summary>
public enum PostgresLogCompression
{
    /// <summary>Chunks are stored uncompressed.</summary>
    None = 0,

    /// <summary>Raw DEFLATE (RFC 1951).</summary>
    Deflate = 1,

    /// <summary>GZip (RFC 1952): DEFLATE with a header and a checksum, 18 bytes more per chunk.</summary>
    Gzip = 2,

    /// <summary>Brotli (RFC 7932).</summary>
    Brotli = 3,
}
