namespace BuildStatus;

/// <summary>One whole line of a log, without its line terminator.</summary>
/// <param name="Number">The zero-based line number within the log.</param>
/// <param name="Channel">The stream the line came from.</param>
/// <param name="Text">The text, without the trailing newline. Never <see langword="null"/>.</param>
public readonly record struct LogLine(long Number, LogChannel Channel, string Text);
