namespace BuildStatus;

/// <summary>A build property's value and where it came from.</summary>
/// <param name="Value">The value as text. Never <see langword="null"/>.</param>
/// <param name="Source">Who set it ("Scheduler", "Worker", "Build", ...).</param>
public sealed record PropertyValue(string Value, string Source);
