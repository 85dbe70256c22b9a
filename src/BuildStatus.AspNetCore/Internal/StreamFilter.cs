namespace BuildStatus.AspNetCore.Internal;

/// <summary>What one stream asked for: builders, one build, event kinds. Reset markers always pass.</summary>
internal sealed record StreamFilter(IReadOnlySet<string>? Builders, int? BuildNumber, StatusEventKinds Kinds)
{
    /// <summary>
    /// What a stream that names no kinds gets: every kind but <see cref="StatusEventKinds.LogChunk"/>. Log lines
    /// are most of the bytes a build publishes and have their own follow stream; a client that wants them in the
    /// status stream names <c>logChunk</c> (or <c>all</c>).
    /// </summary>
    public const StatusEventKinds DefaultKinds = StatusEventKinds.All & ~StatusEventKinds.LogChunk;

    public bool Matches(JournalEntry entry)
    {
        if (entry.IsReset)
        {
            return true;
        }

        if ((Kinds & entry.Kind) == 0)
        {
            return false;
        }

        if (Builders is not null && (entry.BuilderName is null || !Builders.Contains(entry.BuilderName)))
        {
            return false;
        }

        return BuildNumber is null || entry.BuildNumber == BuildNumber;
    }
}
