namespace BuildStatus;

/// <summary>A build as stored: a snapshot of its fields, with asynchronous navigation to its steps.</summary>
public interface IPersistentBuild
{
    /// <summary>Gets the builder name.</summary>
    string BuilderName { get; }

    /// <summary>Gets the build number.</summary>
    int Number { get; }

    /// <summary>Gets the host that ran the build.</summary>
    string HostName { get; }

    /// <summary>Gets the reason, or <see langword="null"/>.</summary>
    string? Reason { get; }

    /// <summary>Gets the source stamps.</summary>
    IReadOnlyList<SourceStamp> SourceStamps { get; }

    /// <summary>Gets the changes.</summary>
    IReadOnlyList<BuildChange> Changes { get; }

    /// <summary>Gets the responsible users.</summary>
    IReadOnlyList<string> ResponsibleUsers { get; }

    /// <summary>Gets the worker name, or <see langword="null"/>.</summary>
    string? WorkerName { get; }

    /// <summary>Gets the properties.</summary>
    IReadOnlyDictionary<string, PropertyValue> Properties { get; }

    /// <summary>Gets when the build started.</summary>
    DateTimeOffset StartedAt { get; }

    /// <summary>Gets when the build finished, or <see langword="null"/>.</summary>
    DateTimeOffset? FinishedAt { get; }

    /// <summary>Gets whether the build is stored as finished.</summary>
    bool IsFinished { get; }

    /// <summary>Gets the state text.</summary>
    string StateText { get; }

    /// <summary>Gets the result, or <see langword="null"/> while unfinished.</summary>
    BuildResult? Result { get; }

    /// <summary>Returns the stored steps, in order.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The steps.</returns>
    Task<IReadOnlyList<IPersistentStep>> GetStepsAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns one stored step, or <see langword="null"/>.</summary>
    /// <param name="number">The step number.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The step, or <see langword="null"/>.</returns>
    Task<IPersistentStep?> GetStepAsync(int number, CancellationToken cancellationToken = default);
}
