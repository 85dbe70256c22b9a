using System.Globalization;
using BuildStatus;

namespace BuildStatusSample;

/// <summary>Small console formatting helpers.</summary>
internal static class Format
{
    public static string Result(BuildResult? result) => result switch
    {
        null => "running",
        { } r => r.ToString().ToLowerInvariant(),
    };

    public static string Seconds(TimeSpan duration) => duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";

    public static string Took(DateTimeOffset? startedAt, DateTimeOffset? finishedAt)
        => startedAt is { } s && finishedAt is { } f ? $" in {Seconds(f - s)}" : string.Empty;

    public static string Duration(DateTimeOffset startedAt, DateTimeOffset? finishedAt)
        => finishedAt is { } f ? Seconds(f - startedAt) : "-";
}
