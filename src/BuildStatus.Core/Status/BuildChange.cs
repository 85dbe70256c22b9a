namespace BuildStatus;

/// <summary>A source change that went into a build; its author is one of the build's responsible users.</summary>
/// <param name="Revision">The revision that introduced the change.</param>
/// <param name="Author">Who made it.</param>
/// <param name="Comments">The commit message, or <see langword="null"/>.</param>
public sealed record BuildChange(string Revision, string Author, string? Comments = null);
