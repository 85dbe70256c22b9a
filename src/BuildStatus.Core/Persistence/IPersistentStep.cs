namespace BuildStatus;

/// <summary>A step as stored.</summary>
public interface IPersistentStep
{
    /// <summary>Gets the builder name.</summary>
    string BuilderName { get; }

    /// <summary>Gets the build number.</summary>
    int BuildNumber { get; }

    /// <summary>Gets the step number.</summary>
    int Number { get; }

    /// <summary>Gets the step name.</summary>
    string Name { get; }

    /// <summary>Gets the state text.</summary>
    string StateText { get; }

    /// <summary>Gets when the step started, or <see langword="null"/>.</summary>
    DateTimeOffset? StartedAt { get; }

    /// <summary>Gets when the step finished, or <see langword="null"/>.</summary>
    DateTimeOffset? FinishedAt { get; }

    /// <summary>Gets whether the step is stored as finished.</summary>
    bool IsFinished { get; }

    /// <summary>Gets the result, or <see langword="null"/>.</summary>
    BuildResult? Result { get; }

    /// <summary>Gets the links.</summary>
    IReadOnlyList<StepUrl> Urls { get; }

    /// <summary>Gets the statistics.</summary>
    IReadOnlyDictionary<string, double> Statistics { get; }

    /// <summary>Gets whether the step is hidden.</summary>
    bool IsHidden { get; }

    /// <summary>Returns the stored logs of the step, in order.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The logs.</returns>
    Task<IReadOnlyList<IPersistentLog>> GetLogsAsync(CancellationToken cancellationToken = default);
}
