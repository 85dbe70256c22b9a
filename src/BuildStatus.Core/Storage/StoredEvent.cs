namespace BuildStatus.Storage;

/// <summary>
/// A row of the event outbox (<see cref="IBuildEventFeed"/>): one status change of a build, its steps or its logs, written
/// by Core in the same transaction as the rows it describes (<see cref="WriteBatch.Events"/>), so other hosts sharing the
/// storage learn of exactly what is committed.
/// </summary>
/// <remarks>
/// Core fills every field except <see cref="Sequence"/>, which the store assigns when it writes the row: increasing, in
/// commit order (a reader that has seen sequence <c>n</c> committed never later finds a smaller one committed), never
/// reused; gaps are allowed. The store keeps the fields as given and returns them unchanged.
/// </remarks>
/// <param name="Kind">The kind of change: one of <see cref="StatusEventKinds.BuildStarted"/>, <see cref="StatusEventKinds.BuildChanged"/>,
/// <see cref="StatusEventKinds.BuildFinished"/>, <see cref="StatusEventKinds.StepStarted"/>, <see cref="StatusEventKinds.StepTextChanged"/>,
/// <see cref="StatusEventKinds.StepFinished"/>, <see cref="StatusEventKinds.LogStarted"/>, <see cref="StatusEventKinds.LogChunk"/>,
/// <see cref="StatusEventKinds.LogFinished"/>.</param>
/// <param name="Timestamp">When the change happened, on the writing host's clock (whole microseconds).</param>
/// <param name="BuilderName">The builder.</param>
/// <param name="BuildNumber">The build number.</param>
public sealed record StoredEvent(StatusEventKinds Kind, DateTimeOffset Timestamp, string BuilderName, int BuildNumber)
{
    /// <summary>Gets the sequence number the store assigned (0 in a <see cref="WriteBatch"/>, before it is written).</summary>
    public long Sequence { get; init; }

    /// <summary>Gets the instance that wrote the event (<see cref="WriteBatch.InstanceId"/>; 0 for a store without instances).</summary>
    public long InstanceId { get; init; }

    /// <summary>Gets the writing host's <see cref="BuildStatusOptions.HostName"/>.</summary>
    public string HostName { get; init; } = string.Empty;

    /// <summary>Gets the step number for step and log events, or <see langword="null"/>.</summary>
    public int? StepNumber { get; init; }

    /// <summary>Gets the log number for log events, or <see langword="null"/>.</summary>
    public int? LogNumber { get; init; }

    /// <summary>Gets the state text of a <see cref="StatusEventKinds.BuildChanged"/> or <see cref="StatusEventKinds.StepTextChanged"/>, or <see langword="null"/>.</summary>
    public string? Text { get; init; }

    /// <summary>Gets the result of a <see cref="StatusEventKinds.BuildFinished"/> or <see cref="StatusEventKinds.StepFinished"/>, or <see langword="null"/>.</summary>
    public BuildResult? Result { get; init; }

    /// <summary>Gets the first line number of a <see cref="StatusEventKinds.LogChunk"/> (0 otherwise).</summary>
    public long FirstLine { get; init; }

    /// <summary>Gets how many lines a <see cref="StatusEventKinds.LogChunk"/> appended (0 otherwise).</summary>
    public int LineCount { get; init; }
}
