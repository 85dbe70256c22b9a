namespace BuildStatus;

/// <summary>The live status of a builder: a named kind of build and the builds it runs.</summary>
public interface IBuilderStatus
{
    /// <summary>Gets the builder's unique name.</summary>
    string Name { get; }

    /// <summary>Gets the description, or <see langword="null"/>.</summary>
    string? Description { get; }

    /// <summary>Gets the tags used to group builders.</summary>
    IReadOnlyList<string> Tags { get; }

    /// <summary>Gets what the builder is doing now.</summary>
    BuilderState State { get; }

    /// <summary>Gets the builds running now, oldest first.</summary>
    IReadOnlyList<IBuildStatus> CurrentBuilds { get; }

    /// <summary>Gets the requests waiting for a build, oldest first.</summary>
    IReadOnlyList<IBuildRequestStatus> PendingRequests { get; }

    /// <summary>
    /// Gets the finished build with the highest number still in RAM, or <see langword="null"/>: the first of
    /// <see cref="RecentBuilds"/>, and the same build <see cref="IPersistentBuilder.GetLastFinishedBuildAsync"/>
    /// returns once it is stored. "Last" is by number, not by finish time: when builds run concurrently, one with a
    /// lower number that finishes later does not replace it.
    /// </summary>
    IBuildStatus? LastFinishedBuild { get; }

    /// <summary>
    /// Gets the finished builds kept in RAM, highest number first (not in finish order); the
    /// <see cref="BuildStatusOptions.RecentBuildsPerBuilder"/> highest-numbered ones finished so far. Older builds,
    /// and a build that finishes after that many higher-numbered ones, are in <see cref="IBuildHistory"/>.
    /// </summary>
    IReadOnlyList<IBuildStatus> RecentBuilds { get; }

    /// <summary>Gets the workers attached to this builder.</summary>
    IReadOnlyList<IWorkerStatus> Workers { get; }

    /// <summary>Gets how long a build is expected to take, from recent successful builds; <see langword="null"/> with no history.</summary>
    TimeSpan? ExpectedDuration { get; }

    /// <summary>Returns a build by number if it is still in RAM (running or recent), else <see langword="null"/>.</summary>
    /// <param name="number">The build number.</param>
    /// <returns>The build, or <see langword="null"/>.</returns>
    IBuildStatus? GetBuild(int number);
}
