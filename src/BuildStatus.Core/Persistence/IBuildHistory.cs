namespace BuildStatus;

/// <summary>
/// The root of build history: everything stored, read asynchronously. Reads return snapshots taken at the
/// time of the call; what is still queued in the write-behind pipeline appears once it is committed
/// (<see cref="IBuildStatusHost.FlushAsync"/> waits for that).
/// </summary>
public interface IBuildHistory
{
    /// <summary>Returns every stored builder, ordered by name.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The builders.</returns>
    Task<IReadOnlyList<IPersistentBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns a stored builder, or <see langword="null"/>.</summary>
    /// <param name="name">The builder name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The builder, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    Task<IPersistentBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns every stored worker, ordered by name.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The workers.</returns>
    Task<IReadOnlyList<IPersistentWorker>> GetWorkersAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns a stored worker, or <see langword="null"/>.</summary>
    /// <param name="name">The worker name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The worker, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    Task<IPersistentWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns a stored build, or <see langword="null"/>.</summary>
    /// <param name="builderName">The builder name.</param>
    /// <param name="number">The build number.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The build, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builderName"/> is <see langword="null"/>.</exception>
    Task<IPersistentBuild?> GetBuildAsync(string builderName, int number, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists the stored build requests, oldest first (a store with instances, <see cref="Storage.IBuildInstanceStore"/>;
    /// empty with any other store, which does not store requests).
    /// </summary>
    /// <param name="builderName">Only this builder's, or <see langword="null"/> for every builder.</param>
    /// <param name="state">Only those in this state (for example <see cref="Storage.BuildRequestState.Pending"/>), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The requests.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="state"/> is not a defined value.</exception>
    Task<IReadOnlyList<Storage.StoredBuildRequest>> GetRequestsAsync(string? builderName = null, Storage.BuildRequestState? state = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the running builds of every host sharing this storage, as stored (a store with instances,
    /// <see cref="Storage.IBuildInstanceStore"/>: the unfinished builds of every instance that has neither stopped nor
    /// been recovered, whatever its host name; with another store, the stored unfinished builds of every builder), by
    /// builder name then number. Each carries its <see cref="IPersistentBuild.HostName"/>, so one page can show the
    /// whole cluster. What another host has not committed yet is not there.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The builds.</returns>
    Task<IReadOnlyList<IPersistentBuild>> GetRunningBuildsAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns one page of a builder's builds, newest first, with the query for the next page.</summary>
    /// <param name="query">The builder, filters and page.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The query is invalid (<see cref="BuildQuery.Validate"/>).</exception>
    Task<BuildPage> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default);

    /// <summary>Streams every build matching a query, newest first, a page at a time.</summary>
    /// <param name="query">The builder and filters; <see cref="BuildQuery.Limit"/> is the page size.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The builds.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    IAsyncEnumerable<IPersistentBuild> EnumerateBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default);
}
