namespace BuildStatus.AspNetCore.Internal;

/// <summary>What one stream asked for: builders, one build, event kinds. Reset markers always pass.</summary>
internal sealed record StreamFilter(IReadOnlySet<string>? Builders, int? BuildNumber, StatusEventKinds Kinds)
{
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
