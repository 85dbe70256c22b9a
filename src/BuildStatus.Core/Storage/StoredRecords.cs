namespace BuildStatus.Storage;

#pragma warning disable SA1402, MA0048 // The SPI's records are read together.

/// <summary>A builder row.</summary>
/// <param name="Name">The unique name.</param>
/// <param name="Description">The description, or <see langword="null"/>.</param>
/// <param name="Tags">The tags, in order.</param>
public sealed record StoredBuilder(string Name, string? Description, IReadOnlyList<string> Tags);

/// <summary>A worker row.</summary>
/// <param name="Name">The unique name.</param>
/// <param name="Host">The host, or <see langword="null"/>.</param>
/// <param name="Info">What the worker reported.</param>
/// <param name="IsConnected">Whether it was connected.</param>
/// <param name="LastSeen">When it was last heard from, or <see langword="null"/>.</param>
public sealed record StoredWorker(string Name, string? Host, IReadOnlyDictionary<string, string> Info, bool IsConnected, DateTimeOffset? LastSeen);

/// <summary>A build row with its source stamps, changes, responsible users and properties.</summary>
/// <param name="BuilderName">The builder name.</param>
/// <param name="Number">The build number (ignored by <see cref="IBuildStore.CreateBuildAsync"/>, which allocates it).</param>
/// <param name="HostName">The host that ran the build.</param>
/// <param name="Reason">The reason, or <see langword="null"/>.</param>
/// <param name="SourceStamps">The source stamps, in order.</param>
/// <param name="Changes">The changes, in order.</param>
/// <param name="ResponsibleUsers">The responsible users, in order.</param>
/// <param name="WorkerName">The worker name, or <see langword="null"/>.</param>
/// <param name="Properties">The properties.</param>
/// <param name="StartedAt">When the build started.</param>
/// <param name="FinishedAt">When it finished, or <see langword="null"/> while unfinished.</param>
/// <param name="StateText">The state text.</param>
/// <param name="Result">The result, or <see langword="null"/> while unfinished.</param>
public sealed record StoredBuild(
    string BuilderName,
    int Number,
    string HostName,
    string? Reason,
    IReadOnlyList<SourceStamp> SourceStamps,
    IReadOnlyList<BuildChange> Changes,
    IReadOnlyList<string> ResponsibleUsers,
    string? WorkerName,
    IReadOnlyDictionary<string, PropertyValue> Properties,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    string StateText,
    BuildResult? Result)
{
    /// <summary>Gets the build's key.</summary>
    public BuildKey Key => new(BuilderName, Number);

    /// <summary>Gets whether the build is finished (it has a <see cref="FinishedAt"/> time).</summary>
    public bool IsFinished => FinishedAt is not null;

    /// <summary>
    /// Gets the instance that created the build (<see cref="IBuildInstanceStore"/>), or <see langword="null"/> for a
    /// store without instances. Stored by <see cref="IBuildStore.CreateBuildAsync"/>; not changed by later upserts.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public long? InstanceId { get; init; }

    /// <summary>
    /// Gets the id Core chose for this creation, so that a retry of <see cref="IBuildStore.CreateBuildAsync"/> after an
    /// ambiguous failure returns the number of the build the first attempt stored instead of creating a second one
    /// (stores implementing <see cref="IBuildInstanceStore"/> honour it), or <see langword="null"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CreationId { get; init; }
}

/// <summary>A step row.</summary>
/// <param name="Key">The step's key.</param>
/// <param name="Name">The step name.</param>
/// <param name="StateText">The state text.</param>
/// <param name="StartedAt">When it started, or <see langword="null"/>.</param>
/// <param name="FinishedAt">When it finished, or <see langword="null"/>.</param>
/// <param name="Result">The result, or <see langword="null"/>.</param>
/// <param name="Urls">The links, in order.</param>
/// <param name="Statistics">The statistics.</param>
/// <param name="IsHidden">Whether it is hidden.</param>
public sealed record StoredStep(
    StepKey Key,
    string Name,
    string StateText,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    BuildResult? Result,
    IReadOnlyList<StepUrl> Urls,
    IReadOnlyDictionary<string, double> Statistics,
    bool IsHidden)
{
    /// <summary>Gets whether the step is finished.</summary>
    public bool IsFinished => FinishedAt is not null;
}

/// <summary>A log row (its lines are stored as <see cref="StoredLogChunk"/>s).</summary>
/// <param name="Key">The log's key.</param>
/// <param name="Name">The log name, unique within the step.</param>
/// <param name="Kind">What the log holds.</param>
/// <param name="IsFinished">Whether it is complete.</param>
/// <param name="LineCount">How many lines are stored for it once this batch commits.</param>
/// <param name="ByteCount">How many UTF-8 bytes those lines hold.</param>
public sealed record StoredLog(LogKey Key, string Name, LogKind Kind, bool IsFinished, long LineCount, long ByteCount);

#pragma warning restore SA1402, MA0048
