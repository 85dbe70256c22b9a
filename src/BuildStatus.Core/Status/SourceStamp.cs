namespace BuildStatus;

/// <summary>Which source a build used, for one codebase.</summary>
/// <param name="Repository">The repository URL or name.</param>
/// <param name="Branch">The branch, or <see langword="null"/> for the default branch.</param>
/// <param name="Revision">The revision, or <see langword="null"/> for the branch head at build time.</param>
/// <param name="Project">The project the repository belongs to, or <see langword="null"/>.</param>
/// <param name="Codebase">The codebase name when a build uses several, or <see langword="null"/>.</param>
public sealed record SourceStamp(
    string Repository,
    string? Branch = null,
    string? Revision = null,
    string? Project = null,
    string? Codebase = null);
