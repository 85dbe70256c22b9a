namespace BuildStatus.Storage.Sqlite.Internal;

#pragma warning disable SA1402, MA0048, CA1812 // Dapper row shapes, read together; instantiated by Dapper.

/// <summary>A <c>builders</c> row as Dapper reads it.</summary>
internal sealed class BuilderRow
{
    public string Name { get; set; } = string.Empty;

    public string? Description { get; set; }

    public string Tags { get; set; } = "[]";

    public StoredBuilder ToRecord() => new(Name, Description, Json.ReadStrings(Tags));
}

/// <summary>A <c>workers</c> row as Dapper reads it.</summary>
internal sealed class WorkerRow
{
    public string Name { get; set; } = string.Empty;

    public string? Host { get; set; }

    public string Info { get; set; } = "{}";

    public long IsConnected { get; set; }

    public long? LastSeen { get; set; }

    public StoredWorker ToRecord() => new(Name, Host, Json.ReadStringMap(Info), IsConnected != 0, UnixTime.FromStored(LastSeen));
}

/// <summary>A <c>builds</c> row (with its builder's name) as Dapper reads it.</summary>
internal sealed class BuildRow
{
    public long Id { get; set; }

    public string BuilderName { get; set; } = string.Empty;

    public long Number { get; set; }

    public string HostName { get; set; } = string.Empty;

    public string? Reason { get; set; }

    public string? WorkerName { get; set; }

    public long StartedAt { get; set; }

    public long? FinishedAt { get; set; }

    public long? Result { get; set; }

    public string StateText { get; set; } = string.Empty;

    public string Changes { get; set; } = "[]";

    public string ResponsibleUsers { get; set; } = "[]";
}

/// <summary>A <c>source_stamps</c> row as Dapper reads it.</summary>
internal sealed class StampRow
{
    public long BuildId { get; set; }

    public string Repository { get; set; } = string.Empty;

    public string? Branch { get; set; }

    public string? Revision { get; set; }

    public string? Project { get; set; }

    public string? Codebase { get; set; }
}

/// <summary>A <c>build_properties</c> row as Dapper reads it.</summary>
internal sealed class PropertyRow
{
    public long BuildId { get; set; }

    public string Name { get; set; } = string.Empty;

    public string Value { get; set; } = string.Empty;

    public string Source { get; set; } = string.Empty;
}

/// <summary>A <c>steps</c> row as Dapper reads it.</summary>
internal sealed class StepRow
{
    public long Number { get; set; }

    public string Name { get; set; } = string.Empty;

    public string StateText { get; set; } = string.Empty;

    public long? StartedAt { get; set; }

    public long? FinishedAt { get; set; }

    public long? Result { get; set; }

    public string Urls { get; set; } = "[]";

    public string Statistics { get; set; } = "{}";

    public long IsHidden { get; set; }

    public StoredStep ToRecord(BuildKey build) => new(
        new StepKey(build.BuilderName, build.Number, (int)Number),
        Name,
        StateText,
        UnixTime.FromStored(StartedAt),
        UnixTime.FromStored(FinishedAt),
        (BuildResult?)Result,
        Json.ReadUrls(Urls),
        Json.ReadNumberMap(Statistics),
        IsHidden != 0);
}

/// <summary>A <c>logs</c> row as Dapper reads it.</summary>
internal sealed class LogRow
{
    public long Number { get; set; }

    public string Name { get; set; } = string.Empty;

    public long Kind { get; set; }

    public long IsFinished { get; set; }

    public long LineCount { get; set; }

    public long ByteCount { get; set; }

    public StoredLog ToRecord(StepKey step) => new(
        new LogKey(step.BuilderName, step.BuildNumber, step.StepNumber, (int)Number),
        Name,
        (LogKind)Kind,
        IsFinished != 0,
        LineCount,
        ByteCount);
}
#pragma warning restore SA1402, MA0048, CA1812
