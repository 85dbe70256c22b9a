namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// Times are stored as INTEGER unix microseconds (UTC), the precision of <see cref="StorageTime"/>, and read back
/// with offset zero. Schema version 1 stored milliseconds; migration 2 converts them.
/// </summary>
internal static class UnixTime
{
    public static long ToStored(DateTimeOffset value) => StorageTime.ToUnixMicroseconds(value);

    public static long? ToStored(DateTimeOffset? value) => value is { } v ? StorageTime.ToUnixMicroseconds(v) : null;

    public static DateTimeOffset FromStored(long value) => StorageTime.FromUnixMicroseconds(value);

    public static DateTimeOffset? FromStored(long? value) => value is { } v ? StorageTime.FromUnixMicroseconds(v) : null;

    /// <summary>
    /// Converts a query bound (any precision) to the smallest stored value not before it, so that
    /// <c>column &gt;= bound</c> and <c>column &lt; bound</c> compare exactly as the <see cref="DateTimeOffset"/>s would.
    /// </summary>
    public static long ToBound(DateTimeOffset value)
    {
        var stored = StorageTime.ToUnixMicroseconds(value);
        return value.UtcTicks % StorageTime.TicksPerUnit == 0 ? stored : stored + 1;
    }
}
