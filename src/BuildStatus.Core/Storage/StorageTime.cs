namespace BuildStatus.Storage;

/// <summary>
/// The one time precision of BuildStatus: whole microseconds (UTC). Core takes every time it sets (start and
/// finish times, a worker's last contact, event timestamps) through <see cref="Truncate(DateTimeOffset)"/>, and every
/// backend stores times to exactly this precision, so a build read back from storage equals its live object and a
/// time-range query means the same thing in RAM, in SQLite and in any other backend.
/// </summary>
/// <remarks>
/// Microseconds fit a 64-bit integer of Unix time for every <see cref="DateTimeOffset"/> (SQLite) and are the
/// precision of PostgreSQL's <c>timestamptz</c>. A backend that stores Unix microseconds uses
/// <see cref="ToUnixMicroseconds"/> and <see cref="FromUnixMicroseconds"/>.
/// </remarks>
public static class StorageTime
{
    /// <summary>The number of <see cref="TimeSpan"/> ticks in one microsecond, the unit of every stored time.</summary>
    public const long TicksPerUnit = TimeSpan.TicksPerMicrosecond;

    /// <summary>Truncates a time to a whole microsecond (towards the past), with offset zero.</summary>
    /// <param name="value">The time.</param>
    /// <returns>The same instant, less its sub-microsecond ticks, in UTC.</returns>
    public static DateTimeOffset Truncate(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TicksPerUnit), TimeSpan.Zero);
    }

    /// <summary>Truncates a time to a whole microsecond (towards the past), with offset zero.</summary>
    /// <param name="value">The time, or <see langword="null"/>.</param>
    /// <returns>The truncated time, or <see langword="null"/>.</returns>
    public static DateTimeOffset? Truncate(DateTimeOffset? value) => value is { } v ? Truncate(v) : null;

    /// <summary>Returns the whole microseconds since 1970-01-01T00:00:00Z, truncating sub-microsecond ticks (towards the past).</summary>
    /// <param name="value">The time.</param>
    /// <returns>Unix time in microseconds; negative before 1970.</returns>
    public static long ToUnixMicroseconds(DateTimeOffset value)
        => (Truncate(value).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TicksPerUnit;

    /// <summary>Returns the time <paramref name="microseconds"/> after 1970-01-01T00:00:00Z, with offset zero.</summary>
    /// <param name="microseconds">Unix time in microseconds.</param>
    /// <returns>The time.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside the range of <see cref="DateTimeOffset"/>.</exception>
    public static DateTimeOffset FromUnixMicroseconds(long microseconds)
    {
        const long MinValue = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
        const long MaxValue = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
        ArgumentOutOfRangeException.ThrowIfLessThan(microseconds, MinValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(microseconds, MaxValue);
        return new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + (microseconds * TicksPerUnit), TimeSpan.Zero);
    }
}
