namespace BuildStatus;

/// <summary>The live status of one build.</summary>
public interface IBuildStatus
{
    /// <summary>Gets the builder that runs the build.</summary>
    IBuilderStatus Builder { get; }

    /// <summary>Gets the build number, unique within the builder.</summary>
    int Number { get; }

    /// <summary>Gets the name of the host that ran the build.</summary>
    string HostName { get; }

    /// <summary>Gets why the build was started, or <see langword="null"/>.</summary>
    string? Reason { get; }

    /// <summary>Gets the source stamps, one per codebase.</summary>
    IReadOnlyList<SourceStamp> SourceStamps { get; }

    /// <summary>Gets the changes that went into the build.</summary>
    IReadOnlyList<BuildChange> Changes { get; }

    /// <summary>Gets the users responsible for the build (the change authors and anyone added explicitly).</summary>
    IReadOnlyList<string> ResponsibleUsers { get; }

    /// <summary>Gets the name of the worker that runs the build, or <see langword="null"/>.</summary>
    string? WorkerName { get; }

    /// <summary>Gets the build properties.</summary>
    IReadOnlyDictionary<string, PropertyValue> Properties { get; }

    /// <summary>Gets when the build started.</summary>
    DateTimeOffset StartedAt { get; }

    /// <summary>Gets when the build finished, or <see langword="null"/> while it runs.</summary>
    DateTimeOffset? FinishedAt { get; }

    /// <summary>Gets whether the build has finished.</summary>
    bool IsFinished { get; }

    /// <summary>Gets a short text saying what the build is doing or how it ended.</summary>
    string StateText { get; }

    /// <summary>Gets the result, or <see langword="null"/> while the build runs.</summary>
    BuildResult? Result { get; }

    /// <summary>Gets the steps, in order.</summary>
    IReadOnlyList<IStepStatus> Steps { get; }

    /// <summary>Gets the step running now, or <see langword="null"/>.</summary>
    IStepStatus? CurrentStep { get; }

    /// <summary>Gets when the build is expected to finish, or <see langword="null"/> when unknown or finished.</summary>
    DateTimeOffset? Eta { get; }

    /// <summary>Returns a property's value, or <see langword="null"/> when it is not set.</summary>
    /// <param name="name">The property name.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    PropertyValue? GetProperty(string name);

    /// <summary>Completes when the build has finished (not when it is stored; see <c>IBuild.FinishAsync</c>).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the build finishes.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task WaitUntilFinishedAsync(CancellationToken cancellationToken = default);
}
