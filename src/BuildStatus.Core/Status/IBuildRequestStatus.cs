namespace BuildStatus;

/// <summary>The live status of a request for a build that has not started yet.</summary>
public interface IBuildRequestStatus
{
    /// <summary>Gets the builder the request is for.</summary>
    IBuilderStatus Builder { get; }

    /// <summary>
    /// Gets the request's id: unique within the history with a store that has instances (where requests are stored and
    /// survive restarts), unique within this host otherwise.
    /// </summary>
    long Id { get; }

    /// <summary>Gets why the build was requested, or <see langword="null"/>.</summary>
    string? Reason { get; }

    /// <summary>Gets when the request was submitted.</summary>
    DateTimeOffset SubmittedAt { get; }

    /// <summary>Gets the source stamps the build should use.</summary>
    IReadOnlyList<SourceStamp> SourceStamps { get; }

    /// <summary>Gets the properties the build should start with.</summary>
    IReadOnlyDictionary<string, PropertyValue> Properties { get; }

    /// <summary>Gets whether the request was cancelled.</summary>
    bool IsCancelled { get; }

    /// <summary>Gets the build started for this request, or <see langword="null"/> while it waits.</summary>
    IBuildStatus? Build { get; }

    /// <summary>Gets the request's priority (higher first).</summary>
    /// <value>The default value is 0.</value>
    int Priority => 0;

    /// <summary>Gets the build number started for this request, also when that build is no longer in RAM (a request
    /// loaded from storage), or <see langword="null"/>.</summary>
    int? BuildNumber => Build?.Number;
}
