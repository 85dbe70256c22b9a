namespace BuildStatus.Storage;

/// <summary>A stored build request (stores with <see cref="IBuildInstanceStore"/>), written through <see cref="WriteBatch.Requests"/>.</summary>
/// <param name="Id">The request id, chosen by Core and unique in the history.</param>
/// <param name="BuilderName">The builder it is for.</param>
/// <param name="Reason">Why it was submitted, or <see langword="null"/>.</param>
/// <param name="SourceStamps">What to build.</param>
/// <param name="Properties">Properties for the build.</param>
/// <param name="Priority">Higher first; 0 by default.</param>
/// <param name="SubmittedAt">When it was submitted.</param>
/// <param name="State">Its state.</param>
/// <param name="ClaimedBy">The instance that claimed it, or <see langword="null"/>.</param>
/// <param name="BuildNumber">The build started for it, or <see langword="null"/>.</param>
public sealed record StoredBuildRequest(
    long Id,
    string BuilderName,
    string? Reason,
    IReadOnlyList<SourceStamp> SourceStamps,
    IReadOnlyDictionary<string, PropertyValue> Properties,
    int Priority,
    DateTimeOffset SubmittedAt,
    BuildRequestState State,
    long? ClaimedBy,
    int? BuildNumber);
