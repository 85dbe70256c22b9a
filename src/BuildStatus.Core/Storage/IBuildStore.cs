namespace BuildStatus.Storage;

/// <summary>
/// The storage SPI: a small, record-oriented, asynchronous interface that a backend implements. Core builds
/// the persistent objects, the adapter and the write-behind pipeline (batching, ordering, retries,
/// backpressure) on top of it, and owns the rules (<see cref="WriteBatchRules"/>, <see cref="RetentionPlanner"/>),
/// so a backend only moves rows.
/// </summary>
/// <remarks>
/// <para>What a store may assume (Core guarantees it before every call):</para>
/// <list type="bullet">
/// <item>no argument is <see langword="null"/>, no key has a <see langword="null"/> builder name, a
/// <see cref="BuildQuery"/> has passed <see cref="BuildQuery.Validate"/>, a <see cref="RetentionPolicy"/> has passed
/// <see cref="RetentionPolicy.Validate"/>, line ranges are not negative, and a <see cref="WriteBatch"/> built by Core
/// passes <see cref="WriteBatch.Validate"/> (a store may check again; <see cref="WriteBatchRules.Check"/> does);</item>
/// <item>Core calls <see cref="InitializeAsync"/> when the host starts, before its own first write; a member called
/// before that completed (a history read before the host started) may initialize the store lazily or throw
/// <see cref="InvalidOperationException"/>, and must never damage the store; <see cref="IAsyncDisposable.DisposeAsync"/>
/// is called once the host stopped;</item>
/// <item>Core's writer calls <see cref="ApplyAsync"/> for one batch at a time, in order (a build start that lost a
/// race may apply a one-build batch of its own meanwhile); reads, <see cref="CreateBuildAsync"/> and
/// <see cref="PruneAsync"/> come from any thread meanwhile.</item>
/// </list>
/// <para>What a store must do:</para>
/// <list type="bullet">
/// <item>make every member safe to call concurrently, and let a read see only whole batches;</item>
/// <item>apply a <see cref="WriteBatch"/> atomically (one transaction) and idempotently (applying the same batch
/// twice leaves the same state); check it with <see cref="WriteBatchRules.Check"/> (or the same rules) and throw
/// <see cref="BatchRejectedException"/>, applying nothing, for a batch that breaks them; that is the only exception
/// that means "never retry";</item>
/// <item>keep every acknowledged write when it claims persistence: a batch whose <see cref="ApplyAsync"/> task
/// completed is read back by a new instance on the same location, in another process, after this one was disposed
/// (the conformance suite checks this in a fresh process);</item>
/// <item>store every string verbatim (Unicode, quotes, SQL metacharacters, control characters, NUL) and compare
/// names, branches, revisions and property values ordinally (case-sensitive, no culture, no normalization); order
/// builders and workers by ordinal name;</item>
/// <item>store every <see cref="DateTimeOffset"/> to exactly microsecond precision (<see cref="StorageTime"/>) and
/// return it with offset zero: Core only writes whole microseconds, so a row reads back equal to the live object it
/// came from; a finer time is truncated as <see cref="StorageTime.Truncate(DateTimeOffset)"/> does. Time-range bounds
/// (<see cref="BuildQuery.StartedAtOrAfter"/>, <see cref="BuildQuery.StartedBefore"/>, the retention cutoffs) may be
/// finer and compare exactly, so one tick after a build's start excludes it (a backend that stores microseconds
/// rounds such a bound up to the next whole microsecond);</item>
/// <item>return rows that share no mutable state with the store: changing or casting a returned list or dictionary
/// never changes what is stored, and a later write never changes a row already returned;</item>
/// <item>never assume one process owns the database: several hosts may share it, so build numbers are
/// allocated inside the database, and two instances may initialize one fresh location at the same time;</item>
/// <item>honour the <see cref="CancellationToken"/> before starting work (throw
/// <see cref="OperationCanceledException"/>); a started transaction may complete;</item>
/// <item>throw on any other failure (any exception; Core retries <see cref="ApplyAsync"/> with backoff and wraps the
/// final error in <see cref="BuildStoreException"/>);</item>
/// <item>implement <see cref="IDisposable"/> as well as <see cref="IAsyncDisposable"/>, so a service container
/// disposed synchronously can release the store; disposing twice is harmless;</item>
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
    /// Creates or upgrades the schema. Safe to call more than once (keeping the data) and from several instances
    /// or processes on one fresh location at the same time (all succeed, the schema is created once). Refuses a store
    /// whose schema is newer than the backend understands.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the store is ready.</returns>
    /// <exception cref="BuildStoreException">The stored schema is newer than the backend understands.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies a batch of writes in one transaction (see <see cref="WriteBatch"/> for the order and rules):
    /// inside it, call <see cref="WriteBatchRules.Check"/> with the stored state, then upsert the rows in list order
    /// and append the chunks it returns.
    /// </summary>
    /// <param name="batch">The writes. The same instance may have been given to <see cref="PrepareAsync"/> first, or
    /// not.</param>
    /// <param name="cancellationToken">Cancels the call before the transaction starts.</param>
    /// <returns>A task that completes when the batch is durable (to the backend's configured durability).</returns>
    /// <exception cref="BatchRejectedException">The batch breaks a rule of <see cref="WriteBatch"/> and can never be
    /// applied; nothing of it was applied.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the
    /// transaction started; nothing was applied.</exception>
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
    /// <param name="cancellationToken">Cancels the call; a cancelled call allocates no number.</param>
    /// <returns>The allocated number.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default);

    /// <summary>Returns every builder, ordered by name (ordinal).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builders.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns a builder, or <see langword="null"/>; the name compares ordinally (exactly).</summary>
    /// <param name="name">The builder name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builder, or <see langword="null"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns every worker, ordered by name (ordinal).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The workers.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns a worker, or <see langword="null"/>; the name compares ordinally (exactly).</summary>
    /// <param name="name">The worker name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The worker, or <see langword="null"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns a build, or <see langword="null"/>.</summary>
    /// <param name="key">The build's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The build (with its stamps, changes, users and properties in stored order), or <see langword="null"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the builds of <see cref="BuildQuery.BuilderName"/> that match every filter of the query, ordered by
    /// number descending, numbered below <see cref="BuildQuery.BeforeNumber"/> when it is set, at most
    /// <see cref="BuildQuery.Limit"/>. The query has been validated. <see cref="BuildQuery.Branch"/> and
    /// <see cref="BuildQuery.Revision"/> match when any source stamp has that value; a property filter matches a
    /// build that has the property (with exactly that value when <see cref="BuildQuery.PropertyValue"/> is set);
    /// <see cref="BuildQuery.Results"/> matches finished builds only; the start time range is inclusive at
    /// <see cref="BuildQuery.StartedAtOrAfter"/> and exclusive at <see cref="BuildQuery.StartedBefore"/>. Strings compare
    /// ordinally.
    /// </summary>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builds.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default);

    /// <summary>Returns a build's steps, ordered by number.</summary>
    /// <param name="build">The build's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The steps (empty when the build has none or does not exist).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default);

    /// <summary>Returns a step's logs, ordered by number.</summary>
    /// <param name="step">The step's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The logs (empty when there are none).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default);

    /// <summary>Returns a log, or <see langword="null"/>.</summary>
    /// <param name="log">The log's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The log, or <see langword="null"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns stored lines of a log from <paramref name="firstLine"/> on, in order, at most
    /// <paramref name="maxLines"/>; reads only the chunks that hold them.
    /// </summary>
    /// <param name="log">The log's key.</param>
    /// <param name="firstLine">The zero-based first line; not negative.</param>
    /// <param name="maxLines">The most lines to return; not negative.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The lines (empty past the end, for <paramref name="maxLines"/> zero or for an unknown log), each with
    /// its line number, channel and text as appended.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default);

    /// <summary>Returns the unfinished builds that <paramref name="hostName"/> ran, for recovery, ordered by builder and number.</summary>
    /// <param name="hostName">The host name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builds.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes what <paramref name="policy"/> says is too old, in transactions of at most
    /// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows, never touching unfinished builds. Which builds
    /// and logs are due is decided by <see cref="RetentionPlanner"/>: pass it every finished build, builder by
    /// builder, numbers descending, and delete what it says.
    /// </summary>
    /// <param name="policy">The policy (validated).</param>
    /// <param name="now">The current time, from the host's <see cref="TimeProvider"/>.</param>
    /// <param name="cancellationToken">Stops between transactions: what earlier transactions deleted stays deleted.</param>
    /// <returns>What was deleted.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the first
    /// transaction or between two.</exception>
    Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes what <paramref name="policy"/> says is too old, as
    /// <see cref="PruneAsync"/> does, and reports after each
    /// transaction commits what has been deleted so far. A store that prunes in several transactions overrides it
    /// (and lets the other overload call it with no progress); the default calls the other overload and reports once,
    /// at the end.
    /// </summary>
    /// <remarks>
    /// <paramref name="progress"/> is called on the pruning thread, with no lock of the store held and the
    /// transaction committed, so it may read the store (and may cancel <paramref name="cancellationToken"/>, which
    /// then stops the pass before its next transaction). Each report's counts are cumulative.
    /// </remarks>
    /// <param name="policy">The policy (validated).</param>
    /// <param name="now">The current time, from the host's <see cref="TimeProvider"/>.</param>
    /// <param name="progress">Receives the running totals after each transaction, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops between transactions: what earlier transactions deleted stays deleted.</param>
    /// <returns>What was deleted.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the first
    /// transaction or between two.</exception>
    async Task<PruneResult> PruneWithProgressAsync(RetentionPolicy policy, DateTimeOffset now, IProgress<PruneResult>? progress, CancellationToken cancellationToken = default)
    {
        var result = await PruneAsync(policy, now, cancellationToken).ConfigureAwait(false);
        progress?.Report(result);
        return result;
    }
}
