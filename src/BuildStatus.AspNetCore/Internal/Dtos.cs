namespace BuildStatus.AspNetCore.Internal;

// The wire shapes of the JSON API and the streams: small records read together, so they share one file.
// Names are camelCase on the wire (WebJsonContext); enums are sent as camelCase strings (Names).
#pragma warning disable SA1402, MA0048

internal sealed record ErrorDto(string Error);

internal sealed record StatusDto(string HostName, string LastEventId, DateTimeOffset ServerTime, IReadOnlyList<BuilderDto> Builders);

internal sealed record BuilderDto(
    string Name,
    string? Description,
    IReadOnlyList<string> Tags,
    string State,
    IReadOnlyList<BuildSummaryDto> CurrentBuilds,
    IReadOnlyList<BuildSummaryDto> RecentBuilds,
    int PendingRequests,
    IReadOnlyList<string> Workers,
    double? ExpectedDurationSeconds);

internal sealed record BuildSummaryDto(
    string Builder,
    int Number,
    bool Finished,
    string StateText,
    string? Result,
    string? Reason,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? Eta,
    string? CurrentStep,
    int? StepsDone,
    int? StepsTotal,
    string? WorkerName,
    string? Branch,
    string? Revision)
{
    /// <summary>Gets the host that runs the build; set by <c>api/hosts</c> only (left out elsewhere).</summary>
    public string? HostName { get; init; }
}

internal sealed record BuildListDto(IReadOnlyList<BuildSummaryDto> Builds, int? NextBefore);

internal sealed record GridDto(IReadOnlyList<BuildSummaryDto> Builds, DateTimeOffset? NextBefore, string LastEventId);

internal sealed record PropertyDto(string Name, string Value, string Source);

internal sealed record BuildDetailDto(
    BuildSummaryDto Summary,
    string HostName,
    IReadOnlyList<SourceStamp> SourceStamps,
    IReadOnlyList<BuildChange> Changes,
    IReadOnlyList<string> ResponsibleUsers,
    IReadOnlyList<PropertyDto> Properties,
    IReadOnlyList<StepDto> Steps,
    string LastEventId)
{
    /// <summary>Gets whether the build is running but not on this host (another host on the same history runs it).</summary>
    public bool? OtherHost { get; init; }
}

internal sealed record StepDto(
    int Number,
    string Name,
    string StateText,
    bool Started,
    bool Finished,
    string? Result,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? Eta,
    bool Hidden,
    IReadOnlyList<StepUrl> Urls,
    IReadOnlyDictionary<string, double> Statistics,
    IReadOnlyList<LogDto> Logs);

internal sealed record LogDto(string Builder, int BuildNumber, int StepNumber, int Number, string Name, string Kind, bool Finished, long LineCount, long ByteCount);

internal sealed record LogLineDto(long N, string C, string T);

internal sealed record LogLinesDto(LogDto Log, long FirstLine, IReadOnlyList<LogLineDto> Lines);

internal sealed record LogSearchDto(string Query, IReadOnlyList<LogLineDto> Matches, long ScannedTo, bool Done);

internal sealed record LogFollowDto(long FirstLine, IReadOnlyList<LogLineDto> Lines);

internal sealed record LogEndDto(long LineCount);

internal sealed record HostsDto(
    string HostName,
    long? InstanceId,
    string LastEventId,
    DateTimeOffset ServerTime,
    IReadOnlyList<HostDto> Hosts,
    IReadOnlyList<BuildSummaryDto> OtherBuilds,
    bool Truncated);

internal sealed record HostDto(
    string HostName,
    long? InstanceId,
    DateTimeOffset? StartedAt,
    DateTimeOffset? HeartbeatAt,
    DateTimeOffset? ExpiresAt,
    bool IsThisHost,
    IReadOnlyList<BuildSummaryDto> RunningBuilds);

internal sealed record BuildRefDto(string Builder, int Number);

internal sealed record WorkerDto(
    string Name,
    string? Host,
    IReadOnlyDictionary<string, string> Info,
    bool Connected,
    DateTimeOffset? LastSeen,
    IReadOnlyList<BuildRefDto> RunningBuilds);

internal sealed record RequestDto(long Id, string Builder, string? Reason, DateTimeOffset SubmittedAt, IReadOnlyList<SourceStamp> SourceStamps, IReadOnlyList<PropertyDto> Properties);

/// <summary>One status event on the stream; only the members that its kind carries are set.</summary>
internal sealed record StreamEventDto(string Kind, DateTimeOffset Time)
{
    /// <summary>Gets the host name of another host's event (<c>hosts=all</c>); left out for this host's own events.</summary>
    public string? Host { get; init; }

    /// <summary>Gets the instance id of another host's event; left out for this host's own events.</summary>
    public long? InstanceId { get; init; }

    public string? Builder { get; init; }

    public int? Number { get; init; }

    public string? State { get; init; }

    public BuilderDto? BuilderInfo { get; init; }

    public BuildSummaryDto? Build { get; init; }

    public StepDto? Step { get; init; }

    public LogDto? Log { get; init; }

    public IReadOnlyList<LogLineDto>? Lines { get; init; }

    public WorkerDto? Worker { get; init; }

    public RequestDto? Request { get; init; }

    public long? Missed { get; init; }
}

#pragma warning restore SA1402, MA0048
