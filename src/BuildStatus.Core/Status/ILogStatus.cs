namespace BuildStatus;

/// <summary>The live status of one log of a step.</summary>
public interface ILogStatus
{
    /// <summary>Gets the step the log belongs to.</summary>
    IStepStatus Step { get; }

    /// <summary>Gets the zero-based log number within the step.</summary>
    int Number { get; }

    /// <summary>Gets the log name (unique within the step).</summary>
    string Name { get; }

    /// <summary>Gets what the log holds.</summary>
    LogKind Kind { get; }

    /// <summary>Gets whether the log is complete.</summary>
    bool IsFinished { get; }

    /// <summary>Gets the number of whole lines appended so far.</summary>
    long LineCount { get; }

    /// <summary>Gets the number of UTF-8 bytes of those lines (without terminators).</summary>
    long ByteCount { get; }

    /// <summary>
    /// Gets the most recent lines, oldest first; at most <see cref="BuildStatusOptions.LogTailLines"/>.
    /// The whole log is read through <see cref="IPersistentLog"/>.
    /// </summary>
    IReadOnlyList<LogLine> Tail { get; }
}
