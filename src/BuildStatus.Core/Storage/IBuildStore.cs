namespace BuildStatus.Storage;

/// <summary>
/// The storage SPI: a small, record-oriented, asynchronous interface that a backend implements. Core builds
/// the persistent objects, the adapter and the write-behind pipeline (batching, ordering, retries,
/// backpressure) on top of it, so a backend only moves rows.
/// </summary>
/// <remarks>
/// <para>Implementers should:</para>
/// <list type="bullet">
/// <item>make every member safe to call concurrently; Core calls <see cref="ApplyAsync"/> from one writer at a
/// time, but reads, <see cref="CreateBuildAsync"/> and <see cref="PruneAsync"/> come from any thread meanwhile;</item>
/// <item>apply a <see cref="WriteBatch"/> atomically (one transaction) and idempotently (applying the same batch
/// twice leaves the same state);</item>
/// <item>store every string verbatim (Unicode, quotes, SQL metacharacters, control characters);</item>
/// <item>store every <see cref="DateTimeOffset"/> to exactly microsecond precision (<see cref="StorageTime"/>) and
/// return it with offset zero: Core only writes whole microseconds, so a row reads back equal to the live object it
/// came from; a finer time is truncated as <see cref="StorageTime.Truncate(DateTimeOffset)"/> does. Time-range bounds
/// (<see cref="BuildQuery.StartedAtOrAfter"/>, <see cref="BuildQuery.StartedBefore"/>, the retention cutoff) may be
/// finer and compare exactly, so one tick after a build's start excludes it (a backend that stores microseconds
/// rounds such a bound up to the next whole microsecond);</item>
/// <item>never assume one process owns the database: several hosts may share it, so build numbers are
/// allocated inside the database;</item>
/// <item>honour the <see cref="CancellationToken"/> before starting work (throw
/// <see cref="OperationCanceledException"/>); a started transaction may complete;</item>
/// <item>throw on failure (any exception; Core retries <see cref="ApplyAsync"/> with backoff and wraps the
/// final error in <see cref="BuildStoreException"/>);</item>
/// <item>implement <see cref="IDisposable"/> as well as <see cref="IAsyncDisposable"/>, so a service container
/// disposed synchronously can release the store;</item>
/// <item>pass the conformance suite in <c>BuildStatus.Storage.Testing</c>.</item>
/// </list>
/// <para>
/// The interface grows only by members with default implementations, so a backend written against an
/// older version keeps compiling and working.
/// </para>
/// </remarks>
public interface IBuildStore : IAsyncDisposable
{
    /// <summary>
    /// Creates or upgrades the schema. Safe to call from several hosts at once and more than once. Refuses (throws
    /// <see cref="BuildStoreException"/>) a store whose schema is newer than the backend understands.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the store is ready.</returns>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Applies a batch of writes in one transaction (see <see cref="WriteBatch"/> for the order and rules).</summary>
    /// <param name="batch">The writes.</param>
    /// <param name="cancellationToken">Cancels the call before the transaction starts.</param>
    /// <returns>A task that completes when the batch is durable (to the backend's configured durability).</returns>
    Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Optionally does the CPU work of a coming <see cref="ApplyAsync"/> call ahead of time, with no write: for
    /// example, compressing the batch's log chunks. Core calls it on a pool thread for the next batch while the
    /// previous batch is still being applied, then calls <see cref="ApplyAsync"/> with the same
    /// <see cref="WriteBatch"/> instance once the previous call has completed, so the work overlaps I/O. The
    /// default does nothing.
    /// </summary>
    /// <remarks>
    /// It must not change stored state, and may run concurrently with any other member, including
    /// <see cref="ApplyAsync"/> for the previous batch. Core waits for it to finish before applying that batch; if
    /// it throws, Core logs a warning and applies the batch anyway, so <see cref="ApplyAsync"/> must work whether or
    /// not the batch was prepared (a store typically keeps the prepared work keyed by the batch instance and drops it
    /// when the batch is applied).
    /// </remarks>
    /// <param name="batch">The batch that will be applied next.</param>
    /// <param name="cancellationToken">Cancels the preparation.</param>
    /// <returns>A task that completes when the preparation is done.</returns>
    Task PrepareAsync(WriteBatch batch, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>
    /// Allocates the next build number of <see cref="StoredBuild.BuilderName"/> and inserts the build with it, in
    /// one transaction. Numbers start at 1, are unique per builder even when several hosts share the store, and
    /// are greater than every number stored for that builder and every number allocated for it before (a number
    /// is never reused, even after <see cref="PruneAsync"/> deleted the builds that had the highest numbers).
    /// Creates the builder row (name only) when missing.
    /// </summary>
    /// <param name="build">The build; its <see cref="StoredBuild.Number"/> is ignored.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The allocated number.</returns>
    Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default);

    /// <summary>Returns every builder, ordered by name (ordinal).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builders.</returns>
    Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns a builder, or <see langword="null"/>.</summary>
    /// <param name="name">The builder name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builder, or <see langword="null"/>.</returns>
    Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns every worker, ordered by name (ordinal).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The workers.</returns>
    Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns a worker, or <see langword="null"/>.</summary>
    /// <param name="name">The worker name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The worker, or <see langword="null"/>.</returns>
    Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns a build, or <see langword="null"/>.</summary>
    /// <param name="key">The build's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The build, or <see langword="null"/>.</returns>
    Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the builds of <see cref="BuildQuery.BuilderName"/> that match every filter of the query, ordered by
    /// number descending, numbered below <see cref="BuildQuery.BeforeNumber"/> when it is set, at most
    /// <see cref="BuildQuery.Limit"/>. The query has been validated.
    /// </summary>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builds.</returns>
    Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default);

    /// <summary>Returns a build's steps, ordered by number.</summary>
    /// <param name="build">The build's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The steps (empty when the build has none or does not exist).</returns>
    Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default);

    /// <summary>Returns a step's logs, ordered by number.</summary>
    /// <param name="step">The step's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The logs (empty when there are none).</returns>
    Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default);

    /// <summary>Returns a log, or <see langword="null"/>.</summary>
    /// <param name="log">The log's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The log, or <see langword="null"/>.</returns>
    Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns stored lines of a log from <paramref name="firstLine"/> on, in order, at most
    /// <paramref name="maxLines"/>; reads only the chunks that hold them.
    /// </summary>
    /// <param name="log">The log's key.</param>
    /// <param name="firstLine">The zero-based first line; not negative.</param>
    /// <param name="maxLines">The most lines to return; not negative.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The lines (empty past the end or for an unknown log).</returns>
    Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default);

    /// <summary>Returns the unfinished builds that <paramref name="hostName"/> ran, for recovery, ordered by builder and number.</summary>
    /// <param name="hostName">The host name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builds.</returns>
    Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes what <paramref name="policy"/> says is too old, in transactions of at most
    /// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows, never touching unfinished builds.
    /// </summary>
    /// <param name="policy">The policy (validated).</param>
    /// <param name="now">The current time, from the host's <see cref="TimeProvider"/>.</param>
    /// <param name="cancellationToken">Stops between transactions.</param>
    /// <returns>What was deleted.</returns>
    Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);
}
