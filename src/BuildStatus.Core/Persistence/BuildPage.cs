namespace BuildStatus;

/// <summary>One page of builds, newest first.</summary>
/// <param name="Builds">The builds on this page.</param>
/// <param name="Next">The query for the next page, or <see langword="null"/> when no build matches after this page
/// (so a page with exactly <see cref="BuildQuery.Limit"/> builds that are the last ones has none).</param>
public sealed record BuildPage(IReadOnlyList<IPersistentBuild> Builds, BuildQuery? Next);
