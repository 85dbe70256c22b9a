using BuildStatus.Storage.Sqlite.Internal;
using Dapper;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite;

/// <summary>
/// The embedded default storage backend: build history in one SQLite file, in WAL mode. Several stores (in one
/// process or several) may share the file: build numbers are allocated inside the database and schema upgrades
/// run once.
/// </summary>
/// <remarks>
/// <para>
/// Writes (<see cref="ApplyAsync"/>, <see cref="CreateBuildAsync"/>, <see cref="PruneAsync"/>,
/// <see cref="VacuumAsync"/>) take turns on one writer connection, each in an <c>IMMEDIATE</c> transaction. Reads
/// use pooled reader connections and, thanks to WAL, never wait for a write in progress; they see the last
/// committed state.
/// </para>
/// <para>
/// Microsoft.Data.Sqlite runs statements synchronously, so the returned tasks usually complete on the calling
/// thread; a token is checked before work starts and a started transaction completes.
/// </para>
/// </remarks>
public sealed partial class SqliteBuildStore : IBuildStore, IBuildInstanceStore, IDisposable
{
    /// <summary>How many pages one vacuum transaction returns to the file system (4 MiB with the default 4 KiB pages).</summary>
    private const int VacuumPagesPerTransaction = 1024;

    private readonly SqliteStorageOptions _options;
    private readonly SqliteConnectionFactory _connections;
    private readonly LogChunkCodec _codec;

    // The writer lock owns _writer, _batchWriter and _disposed: they are read and changed only while it is held.
    // It serializes every write, initialization and disposal of this instance on the one writer connection.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;
    private BatchWriter? _batchWriter;
    private bool _disposed;

    // Build starts waiting for the writer lock. Guarded by _createLock (a leaf lock, taken with or without the writer
    // lock). Whoever gets the writer lock takes the whole list and creates those builds together.
    private readonly Lock _createLock = new();
    private List<CreateRequest> _createQueue = [];

    // Encoded chunks of batches given to PrepareAsync, until ApplyAsync takes them. Thread-safe; entries go with their batch.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<WriteBatch, (LogCompression Codec, byte[] Content)[]> _prepared = new();

    // Set (under the writer lock) once the schema is known to be current; read without the lock as a fast path.
    private volatile bool _initialized;

    /// <summary>Initializes a new instance of the <see cref="SqliteBuildStore"/> class. Opens nothing until first used.</summary>
    /// <param name="options">The options; copied, so later changes do not affect this store.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="SqliteStorageOptions.Validate"/>).</exception>
    public SqliteBuildStore(SqliteStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _connections = new SqliteConnectionFactory(_options);
        _codec = new LogChunkCodec(_options.Compression, _options.CompressionLevel);
    }

    /// <summary>Gets whether a write holds the writer lock; for tests that queue work behind it.</summary>
    internal bool IsWriting => _writeLock.CurrentCount == 0;

    /// <summary>Gets how many build starts wait to be created; for tests.</summary>
    internal int QueuedBuildStarts
    {
        get
        {
            lock (_createLock)
            {
                return _createQueue.Count;
            }
        }
    }

    /// <summary>Gets the schema version this version of the store creates and understands.</summary>
    public static int SchemaVersion => SchemaMigrator.LatestVersion;

    /// <inheritdoc/>
    /// <remarks>
    /// Creates the file when missing, with <c>auto_vacuum=INCREMENTAL</c> and WAL journal mode, and applies the
    /// embedded migration scripts it lacks in one <c>IMMEDIATE</c> transaction. Other members call it on first use.
    /// </remarks>
    /// <exception cref="BuildStoreException">The database's schema is newer than <see cref="SchemaVersion"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            InitializeLocked();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is <see langword="null"/>.</exception>
    /// <exception cref="BatchRejectedException">The batch breaks the <see cref="WriteBatch"/> rules (nothing was applied); <see cref="BatchRejectedException.Keys"/> names the offending rows.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.IsEmpty)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return;
        }

        // Check and encode before taking the write lock: a malformed batch never holds it, and compression runs
        // on all cores while another call (a build start, a read) may use the connection.
        WriteBatch.Validate(batch);
        var encoded = _prepared.TryGetValue(batch, out var ready) && ready.Length == batch.LogChunks.Count
            ? ready
            : _codec.EncodeAll(batch.LogChunks);
        _prepared.Remove(batch);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            InitializeLocked();
            _batchWriter!.Apply(batch, encoded);
        }
        finally
        {
            _writeLock.Release();
        }

        if (batch.Events.Count > 0 && _options.ShareEvents)
        {
            SignalEventsWritten();
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Encodes and compresses the batch's log chunks (on all cores) and keeps the result for the
    /// <see cref="ApplyAsync"/> call with the same batch instance, so compression overlaps the previous batch's
    /// transaction instead of following it.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is <see langword="null"/>.</exception>
    public Task PrepareAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        if (batch.LogChunks is { Count: > 0 } chunks)
        {
            _prepared.AddOrUpdate(batch, _codec.EncodeAll(chunks));
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Build starts that wait for the writer lock at the same time are created together: the first to get the lock
    /// creates every waiting build in one transaction (numbered in arrival order), so a burst of starts costs one
    /// commit. If that transaction fails, each build is retried in its own, so one bad build fails only its own call.
    /// Cancellation is honoured until the build's transaction has started; after that the call returns its number.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="build"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(build);
        if (string.IsNullOrEmpty(build.BuilderName))
        {
            throw new ArgumentException("The build's BuilderName is null or empty.", nameof(build));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var request = new CreateRequest(build);
        lock (_createLock)
        {
            _createQueue.Add(request);
        }

        var acquire = _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (await Task.WhenAny(acquire, request.Done.Task).ConfigureAwait(false) != acquire)
            {
                // Another start's transaction created this build; give back the lock when this turn comes.
                _ = acquire.ContinueWith(static (_, state) => ((SemaphoreSlim)state!).Release(), _writeLock, CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return await request.Done.Task.ConfigureAwait(false);
            }

            await acquire.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (_createLock)
            {
                if (_createQueue.Remove(request))
                {
                    throw;
                }
            }

            // A transaction holding this build has started: its number is the answer.
            return await request.Done.Task.ConfigureAwait(false);
        }

        try
        {
            List<CreateRequest> group;
            lock (_createLock)
            {
                if (cancellationToken.IsCancellationRequested && _createQueue.Remove(request))
                {
                    request.Done.TrySetCanceled(cancellationToken);
                }

                group = _createQueue;
                _createQueue = [];
            }

            if (group.Count > 0)
            {
                CreateLocked(group);
            }
        }
        finally
        {
            _writeLock.Release();
        }

        return await request.Done.Task.ConfigureAwait(false);
    }

    // Caller holds the writer lock. Completes every request of the group.
    private void CreateLocked(List<CreateRequest> group)
    {
        try
        {
            InitializeLocked();
            if (group.Count > 1)
            {
                try
                {
                    var numbers = _batchWriter!.CreateBuilds(group.ConvertAll(r => r.Build));
                    for (var i = 0; i < group.Count; i++)
                    {
                        group[i].Done.TrySetResult(numbers[i]);
                    }

                    return;
                }
                catch (Exception ex) when (ex is not ObjectDisposedException)
                {
                    // Rolled back: fall through and give each build its own transaction and its own outcome.
                }
            }

            foreach (var request in group)
            {
                try
                {
                    request.Done.TrySetResult(_batchWriter!.CreateBuild(request.Build));
                }
                catch (Exception ex)
                {
                    request.Done.TrySetException(ex);
                }
            }
        }
        catch (Exception ex)
        {
            foreach (var request in group)
            {
                request.Done.TrySetException(ex);
            }
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await HistoryReader.GetBuildersAsync(connection, name: null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public async Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var builders = await HistoryReader.GetBuildersAsync(connection, name, cancellationToken).ConfigureAwait(false);
            return builders.Count == 0 ? null : builders[0];
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await HistoryReader.GetWorkersAsync(connection, name: null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public async Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var workers = await HistoryReader.GetWorkersAsync(connection, name, cancellationToken).ConfigureAwait(false);
            return workers.Count == 0 ? null : workers[0];
        }
    }

    /// <inheritdoc/>
    public async Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key.BuilderName, nameof(key));
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var builds = await HistoryReader.GetBuildAsync(connection, key, cancellationToken).ConfigureAwait(false);
            return builds.Count == 0 ? null : builds[0];
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Runs as one statement that reads candidates newest first from one index range keyed by the most selective
    /// filter given (revision, unfinished, property value, a narrow time range, branch, results, property name, in
    /// that order; else the builder's whole history) and checks the other filters per candidate, so rare and absent
    /// values cost as little as common ones. Two shapes are counted first, index-only and bounded, to choose: a time
    /// range (is it narrow: at most 4,096 builds?) and a branch given with results (which of the two has fewer
    /// builds among the builder's newest 1,024 numbers drives).
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    public async Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await HistoryReader.QueryBuildsAsync(connection, query, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(build.BuilderName, nameof(build));
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await HistoryReader.GetStepsAsync(connection, build, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(step.BuilderName, nameof(step));
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await HistoryReader.GetLogsAsync(connection, step, logNumber: null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log.BuilderName, nameof(log));
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var logs = await HistoryReader.GetLogsAsync(connection, log.Step, log.LogNumber, cancellationToken).ConfigureAwait(false);
            return logs.Count == 0 ? null : logs[0];
        }
    }

    /// <inheritdoc/>
    /// <remarks>Selects, on the <c>(log_id, first_line)</c> index, only the chunks that overlap the range and decodes only those.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLine"/> or <paramref name="maxLines"/> is negative.</exception>
    public async Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log.BuilderName, nameof(log));
        ArgumentOutOfRangeException.ThrowIfNegative(firstLine);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLines);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await HistoryReader.ReadLogLinesAsync(connection, log, firstLine, maxLines, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="hostName"/> is <see langword="null"/>.</exception>
    public async Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hostName);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await HistoryReader.GetUnfinishedBuildsAsync(connection, hostName, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Finds the targets on a reader connection, then deletes child rows first (log chunks, logs, steps, stamps,
    /// properties, the build), each transaction holding the writer for at most
    /// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows; <see cref="ApplyAsync"/> and
    /// <see cref="CreateBuildAsync"/> calls get their turn between transactions. When
    /// <see cref="SqliteStorageOptions.VacuumAfterPrune"/> is set and anything was deleted, finishes with
    /// <see cref="VacuumAsync"/>.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        => PruneWithProgressAsync(policy, now, null, cancellationToken);

    /// <inheritdoc cref="PruneAsync"/>
    /// <param name="policy">The policy (validated).</param>
    /// <param name="now">The current time, from the host's <see cref="TimeProvider"/>.</param>
    /// <param name="progress">Receives the running totals after each transaction commits, with the writer lock
    /// released, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops between transactions: what earlier transactions deleted stays deleted.</param>
    public async Task<PruneResult> PruneWithProgressAsync(RetentionPolicy policy, DateTimeOffset now, IProgress<PruneResult>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Queue<RetentionPruner.PruneTarget> targets;
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            targets = RetentionPruner.FindTargets(connection, policy, now);
        }

        int buildsDeleted = 0, logsDeleted = 0;
        while (targets.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfDisposedLocked();
                using var transaction = _writer!.BeginTransaction(deferred: false);
                var budget = policy.MaxRowsPerTransaction;
                while (targets.Count > 0 && RetentionPruner.DeleteSome(_writer, transaction, targets.Peek(), ref budget, ref buildsDeleted, ref logsDeleted))
                {
                    targets.Dequeue();
                }

                transaction.Commit();

                // Deleted ids may be reused: forget the cached ones.
                _batchWriter?.InvalidateCaches();
            }
            finally
            {
                _writeLock.Release();
            }

            progress?.Report(new PruneResult(buildsDeleted, logsDeleted));
        }

        if (_options.VacuumAfterPrune && (buildsDeleted > 0 || logsDeleted > 0))
        {
            await VacuumAsync(cancellationToken).ConfigureAwait(false);
        }

        return new PruneResult(buildsDeleted, logsDeleted);
    }

    /// <summary>
    /// Returns free pages (left by <see cref="PruneAsync"/> or by replaced rows) to the file system, so the file
    /// shrinks, then checkpoints the WAL. Runs <c>PRAGMA incremental_vacuum</c> in transactions of at most 1,024
    /// pages, so writers wait only briefly. Databases this store creates use <c>auto_vacuum=INCREMENTAL</c>; on a
    /// file created without it this does nothing but the checkpoint (run <c>VACUUM</c> offline instead).
    /// </summary>
    /// <remarks>
    /// The checkpoint never blocks a writer: it runs after the writer lock is released, on a reader connection, in
    /// <c>PASSIVE</c> mode, so it copies what no reader still needs and waits for nobody. Once a checkpoint has
    /// copied the whole WAL, the next write cuts the WAL file back to 4 MiB (<c>journal_size_limit</c>).
    /// </remarks>
    /// <param name="cancellationToken">Stops between transactions.</param>
    /// <returns>The number of pages returned to the file system.</returns>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<long> VacuumAsync(CancellationToken cancellationToken = default)
    {
        long released = 0;
        var more = true;
        while (more)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                InitializeLocked();
                var writer = _writer!;
                var free = writer.ExecuteScalar<long>("PRAGMA freelist_count;");
                if (free == 0 || writer.ExecuteScalar<long>("PRAGMA auto_vacuum;") != 2)
                {
                    break;
                }

                writer.Execute($"PRAGMA incremental_vacuum({VacuumPagesPerTransaction});");
                var after = writer.ExecuteScalar<long>("PRAGMA freelist_count;");
                released += free - after;
                more = after < free;
            }
            finally
            {
                _writeLock.Release();
            }
        }

        // Outside the writer lock: a checkpoint that waited for readers (TRUNCATE, RESTART, FULL) would hold up every
        // write of this store (and, as SQLite's write lock, of other processes) for up to BusyTimeout.
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA wal_checkpoint(PASSIVE);", cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return released;
    }

    /// <summary>Closes the writer connection and the idle pooled reader connections of this file.</summary>
    /// <returns>A task that completes when the connections are closed (after a write in progress finishes).</returns>
    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        DisposeLocked();
    }

    /// <summary>Closes the writer connection and the idle pooled reader connections of this file, for containers disposed synchronously.</summary>
    public void Dispose()
    {
        _writeLock.Wait();
        DisposeLocked();
    }

    // Caller holds the writer lock; releases it.
    private void DisposeLocked()
    {
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _batchWriter?.Dispose();
            _writer?.Dispose();

            _batchWriter = null;
            _writer = null;
            using var pooled = new SqliteConnection(_connections.ReaderConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Opens the writer and migrates the schema on first use. Caller holds the writer lock.</summary>
    private void InitializeLocked()
    {
        ThrowIfDisposedLocked();
        if (_writer is null)
        {
            var writer = _connections.OpenWriter();
            try
            {
                SchemaMigrator.Migrate(writer);
                _batchWriter = new BatchWriter(writer, _codec) { MaxEvents = _options.ShareEvents ? _options.MaxEvents : 0 };
                _writer = writer;
            }
            catch
            {
                writer.Dispose();
                throw;
            }

            _initialized = true;
        }
    }

    private void ThrowIfDisposedLocked() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Makes sure the schema exists (once), then opens a pooled reader connection.</summary>
    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // A racy read of the lock-owned flag is enough here: a read that slips past it still works on its own connection.
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        return _connections.OpenReader();
    }

    private sealed class CreateRequest(StoredBuild build)
    {
        public StoredBuild Build { get; } = build;

        public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
