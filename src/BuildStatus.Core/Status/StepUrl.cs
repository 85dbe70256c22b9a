namespace BuildStatus;

/// <summary>A link a step publishes (a test report, an artifact).</summary>
/// <param name="Name">The link text.</param>
/// <param name="Url">The address.</param>
public sealed record StepUrl(string Name, string Url);
