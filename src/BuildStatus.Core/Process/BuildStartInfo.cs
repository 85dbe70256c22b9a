using System.Diagnostics;

namespace BuildStatus;

/// <summary>What a build starts with.</summary>
public sealed record BuildStartInfo
{
    /// <summary>Gets why the build started. The default is <see langword="null"/>.</summary>
    public string? Reason { get; init; }

    /// <summary>Gets the source stamps. The default is none.</summary>
    public IReadOnlyList<SourceStamp> SourceStamps { get; init; } = [];

    /// <summary>Gets the changes in the build. Their authors become responsible users. The default is none.</summary>
    public IReadOnlyList<BuildChange> Changes { get; init; } = [];

    /// <summary>Gets extra responsible users. The default is none.</summary>
    public IReadOnlyList<string> ResponsibleUsers { get; init; } = [];

    /// <summary>Gets the initial properties. The default is none.</summary>
    public IReadOnlyDictionary<string, PropertyValue> Properties { get; init; } = new Dictionary<string, PropertyValue>();

    /// <summary>Gets the worker that runs the build, or <see langword="null"/>. The default is <see langword="null"/>.</summary>
    public IWorkerStatus? Worker { get; init; }

    /// <summary>Gets the pending request this build satisfies, or <see langword="null"/>. The default is <see langword="null"/>.</summary>
    public IBuildRequestStatus? Request { get; init; }

    /// <summary>
    /// Gets the trace context that caused the build, for example the W3C <c>traceparent</c> header of the webhook
    /// that triggered it (parse it with <see cref="ActivityContext.TryParse(string?, string?, bool, out ActivityContext)"/>).
    /// The build's span (activity source <c>BuildStatus</c>) becomes its child, in the same trace. The default is
    /// <see langword="null"/>: the build's span is the root of a trace of its own, whatever
    /// <see cref="Activity.Current"/> is when the build starts.
    /// </summary>
    public ActivityContext? ParentContext { get; init; }
}
