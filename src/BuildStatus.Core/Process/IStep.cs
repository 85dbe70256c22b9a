namespace BuildStatus;

/// <summary>A step as the CI host drives it. It is its own <see cref="IStepStatus"/>.</summary>
public interface IStep : IStepStatus
{
    /// <summary>Gets the persistent counterpart of this step.</summary>
    IPersistentStep Persistent { get; }

    /// <summary>Starts the step; it becomes the build's current step.</summary>
    /// <exception cref="InvalidOperationException">The step has already started, the build has finished, or the host has stopped.</exception>
    void Start();

    /// <summary>Adds a log to the step.</summary>
    /// <param name="name">The log name, unique within the step.</param>
    /// <param name="kind">What the log holds. The default is <see cref="LogKind.Stdio"/>.</param>
    /// <returns>The new log.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is invalid or already used in this step.</exception>
    /// <exception cref="InvalidOperationException">The step has finished, or the host has stopped.</exception>
    ILog AddLog(string name, LogKind kind = LogKind.Stdio);

    /// <summary>Sets the state text.</summary>
    /// <param name="text">The new text.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The step has finished, or the host has stopped.</exception>
    void SetStateText(string text);

    /// <summary>Adds a link.</summary>
    /// <param name="name">The link text.</param>
    /// <param name="url">The address.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="url"/> is null or empty.</exception>
    /// <exception cref="InvalidOperationException">The build has finished, or the host has stopped.</exception>
    void AddUrl(string name, string url);

    /// <summary>Records a named number, replacing an earlier value.</summary>
    /// <param name="name">The statistic name.</param>
    /// <param name="value">The value; must be finite.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty, or <paramref name="value"/> is not finite.</exception>
    /// <exception cref="InvalidOperationException">The build has finished, or the host has stopped.</exception>
    void SetStatistic(string name, double value);

    /// <summary>Hides or shows the step in displays.</summary>
    /// <param name="hidden">Whether to hide it.</param>
    /// <exception cref="InvalidOperationException">The build has finished, or the host has stopped.</exception>
    void SetHidden(bool hidden);

    /// <summary>Finishes the step, and any of its logs still open. A step that never started is finished as started and finished now.</summary>
    /// <param name="result">The result.</param>
    /// <param name="stateText">The final state text; <see langword="null"/> keeps the current text.</param>
    /// <exception cref="InvalidOperationException">The step has already finished, or the host has stopped.</exception>
    void Finish(BuildResult result, string? stateText = null);
}
