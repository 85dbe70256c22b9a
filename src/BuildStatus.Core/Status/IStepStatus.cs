namespace BuildStatus;

/// <summary>The live status of one step of a build.</summary>
public interface IStepStatus
{
    /// <summary>Gets the build the step belongs to.</summary>
    IBuildStatus Build { get; }

    /// <summary>Gets the zero-based step number within the build.</summary>
    int Number { get; }

    /// <summary>Gets the step name.</summary>
    string Name { get; }

    /// <summary>Gets a short text saying what the step is doing or how it ended.</summary>
    string StateText { get; }

    /// <summary>Gets when the step started, or <see langword="null"/> before it starts.</summary>
    DateTimeOffset? StartedAt { get; }

    /// <summary>Gets when the step finished, or <see langword="null"/>.</summary>
    DateTimeOffset? FinishedAt { get; }

    /// <summary>Gets whether the step has started.</summary>
    bool IsStarted { get; }

    /// <summary>Gets whether the step has finished.</summary>
    bool IsFinished { get; }

    /// <summary>Gets the result, or <see langword="null"/> until the step finishes.</summary>
    BuildResult? Result { get; }

    /// <summary>Gets the logs, in the order they were added.</summary>
    IReadOnlyList<ILogStatus> Logs { get; }

    /// <summary>Gets the links the step published.</summary>
    IReadOnlyList<StepUrl> Urls { get; }

    /// <summary>Gets named numbers the step recorded (tests run, warnings, ...).</summary>
    IReadOnlyDictionary<string, double> Statistics { get; }

    /// <summary>Gets whether the step should be hidden from displays.</summary>
    bool IsHidden { get; }

    /// <summary>Gets when the step is expected to finish, or <see langword="null"/>.</summary>
    DateTimeOffset? Eta { get; }
}
