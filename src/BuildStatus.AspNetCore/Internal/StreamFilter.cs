namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// What one stream asked for: builders, one build, event kinds, and whether other hosts' events too
/// (<c>hosts=all</c>). Reset markers always pass, but for those that concern only other hosts' events, which pass
/// only when <see cref="OtherHosts"/> is set.
/// </summary>
internal sealed record StreamFilter(IReadOnlySet<string>? Builders, int? BuildNumber, StatusEventKinds Kinds, bool OtherHosts = false)
{
    /// <summary>The kinds of other hosts' events a stream can get: Core relays these, and the journal keeps all but <c>logChunk</c>.</summary>
    public const StatusEventKinds OtherHostKinds = StatusEventKinds.BuildStarted | StatusEventKinds.BuildChanged | StatusEventKinds.BuildFinished
        | StatusEventKinds.StepStarted | StatusEventKinds.StepTextChanged | StatusEventKinds.StepFinished
        | StatusEventKinds.LogStarted | StatusEventKinds.LogFinished;

    /// <summary>
    /// What a stream that names no kinds gets: every kind but <see cref="StatusEventKinds.LogChunk"/>. Log lines
    /// are most of the bytes a build publishes and have their own follow stream; a client that wants them in the
    /// status stream names <c>logChunk</c> (or <c>all</c>).
    /// </summary>
    public const StatusEventKinds DefaultKinds = StatusEventKinds.All & ~StatusEventKinds.LogChunk;

    public bool Matches(JournalEntry entry)
    {
        if (entry.FromOtherHost && !OtherHosts)
        {
            return false;
        }

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
