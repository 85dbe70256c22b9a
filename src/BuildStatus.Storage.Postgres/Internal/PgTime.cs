namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// Times are stored as bigint unix microseconds (UTC), the precision of <see cref="StorageTime"/>: exact both ways,
/// with none of the driver's date conversions (infinity mapping, time zones) in between. Read back with offset zero.
/// </summary>
internal static class PgTime
{
    public static long ToStored(DateTimeOffset value) => StorageTime.ToUnixMicroseconds(value);

    public static long? ToStored(DateTimeOffset? value) => value is { } v ? StorageTime.ToUnixMicroseconds(v) : null;

    public static DateTimeOffset FromStored(long value) => StorageTime.FromUnixMicroseconds(value);

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
