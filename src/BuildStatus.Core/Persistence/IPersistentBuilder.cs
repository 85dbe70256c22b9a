namespace BuildStatus;

/// <summary>A builder as stored.</summary>
public interface IPersistentBuilder
{
    /// <summary>Gets the builder name.</summary>
    string Name { get; }

    /// <summary>Gets the stored description, or <see langword="null"/>.</summary>
    string? Description { get; }

    /// <summary>Gets the stored tags.</summary>
    IReadOnlyList<string> Tags { get; }

    /// <summary>Returns one page of this builder's builds, newest first.</summary>
    /// <param name="query">Filters and page; <see langword="null"/> for the newest 50. Its builder name is replaced by this builder's.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page.</returns>
    Task<BuildPage> QueryBuildsAsync(BuildQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>Returns one of this builder's builds, or <see langword="null"/>.</summary>
    /// <param name="number">The build number.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The build, or <see langword="null"/>.</returns>
    Task<IPersistentBuild?> GetBuildAsync(int number, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the finished build with the highest number, or <see langword="null"/>: by number, not by finish
    /// time, the same meaning as the live <see cref="IBuilderStatus.LastFinishedBuild"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The build, or <see langword="null"/>.</returns>
    Task<IPersistentBuild?> GetLastFinishedBuildAsync(CancellationToken cancellationToken = default);
}
