namespace BuildStatus;

/// <summary>One page of builds, newest first.</summary>
/// <param name="Builds">The builds on this page.</param>
/// <param name="Next">The query for the next page, or <see langword="null"/> when this is the last page.</param>
public sealed record BuildPage(IReadOnlyList<IPersistentBuild> Builds, BuildQuery? Next);
