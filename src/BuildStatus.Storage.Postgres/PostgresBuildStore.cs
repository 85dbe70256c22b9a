using System.Runtime.CompilerServices;
using BuildStatus.Storage.Postgres.Internal;
using Npgsql;

namespace BuildStatus.Storage.Postgres;

/// <summary>
/// Build history in PostgreSQL, shared by any number of hosts: build numbers are allocated in the database (unique
/// per builder across hosts), each batch is one transaction sent as one pipelined <see cref="NpgsqlBatch"/>, and the
/// schema is created and upgraded by the first host to start, once.
/// </summary>
/// <remarks>
/// <para>
/// Connections: the store takes a pooled connection for each call and gives it back when the call returns; it holds
/// none while idle. At most one batch runs at a time per store (Core's single writer), plus one connection per build
/// start, per read, per instance call (a heartbeat, a claim) and for pruning in progress. When the store builds its own data source from
/// <see cref="PostgresStorageOptions.ConnectionString"/>, its pool is bounded by
/// <see cref="PostgresStorageOptions.MaxConnections"/>, so a host never opens more, however many builds or
/// subscribers it has.
/// </para>
/// <para>
/// Retention (<see cref="PruneAsync"/>) runs on one host at a time: the pass holds the session advisory lock
/// <c>pg_try_advisory_lock</c> on its connection, which the server releases when the connection ends, so a host that
/// dies while pruning never blocks the others. A host that finds the lock taken skips the pass.
/// </para>
/// </remarks>
public sealed partial class PostgresBuildStore : IBuildStore, IBuildInstanceStore, IDisposable
{
    private readonly PostgresStorageOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly TimeProvider _timeProvider;
    private readonly ConnectionTarget _target;
    private readonly LogChunkCodec _codec;
    private readonly BatchApplier _applier;
    private readonly HistoryReader _reader;
    private readonly RetentionPruner _pruner;

    // Serializes ApplyAsync calls (Core has one writer; this keeps the applier's single-caller rule if others call).
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Serializes first-use initialization. _initialized is set under it and read without it as a fast path.
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private volatile bool _initialized;

    // Set once by Dispose/DisposeAsync (Interlocked); read by every call.
    private int _disposed;

    // Encoded chunks of batches given to PrepareAsync, until ApplyAsync takes them. Thread-safe; entries go with their batch.
    private readonly ConditionalWeakTable<WriteBatch, (PostgresLogCompression Codec, byte[] Content)[]> _prepared = new();

    /// <summary>Initializes a new instance of the <see cref="PostgresBuildStore"/> class. Connects to nothing until first used.</summary>
    /// <param name="options">The options; copied, so later changes do not affect this store.</param>
    /// <param name="timeProvider">The clock for the pauses between start attempts; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="PostgresStorageOptions.Validate"/>).</exception>
    public PostgresBuildStore(PostgresStorageOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _timeProvider = timeProvider ?? TimeProvider.System;
        if (_options.DataSource is { } dataSource)
        {
            _dataSource = dataSource;
        }
        else
        {
            var builder = new NpgsqlDataSourceBuilder(_options.ConnectionString);
            builder.ConnectionStringBuilder.MaxPoolSize = _options.MaxConnections;
            builder.ConnectionStringBuilder.MinPoolSize = Math.Min(builder.ConnectionStringBuilder.MinPoolSize, _options.MaxConnections);
            if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
            {
                // The store's statements are few and run again and again: let Npgsql prepare them on each connection,
                // so the server parses and plans each once instead of on every batch.
                builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
                builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
            }
            _dataSource = builder.Build();
            _ownsDataSource = true;
        }

        _target = new ConnectionTarget(_dataSource);
        _codec = new LogChunkCodec(_options.Compression, _options.CompressionLevel);
        _outbox = new EventOutbox(_options.Schema);
        _applier = new BatchApplier(_options.Schema, _options.ShareEvents ? _outbox : null);
        _reader = new HistoryReader(_options.Schema);
        _pruner = new RetentionPruner(_options.Schema);
        _listener = new EventListener(OpenListenConnectionAsync, _outbox.Channel, _timeProvider);
        _instances = new InstancesSql(_options.Schema);
    }

    /// <summary>Gets how many batches did not fit the fast form and were run again carefully; for tests.</summary>
    internal long CarefulBatches => _applier.CarefulRuns;

    /// <summary>Gets the schema version this version of the store creates and understands.</summary>
    public static int SchemaVersion => SchemaMigrator.LatestVersion;

    /// <inheritdoc/>
    /// <remarks>
    /// Connects (retrying a server that does not answer or is starting up, for up to
    /// <see cref="PostgresStorageOptions.StartTimeout"/>), then creates the schema or applies the embedded migration
    /// scripts it lacks in one transaction under an advisory lock, so hosts starting together migrate once. Other
    /// members call it on first use.
    /// </remarks>
    /// <exception cref="BuildStoreException">The server cannot be reached within the start timeout, the login is
    /// refused, the database does not exist, the user may not create the schema, or the schema is newer than
    /// <see cref="SchemaVersion"/>. The message names the host, port, database and user, never the password.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (_initialized)
        {
            return;
        }

        await _initLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await StartAsync(cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initLock.Release();
        }
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    await SchemaMigrator.MigrateAsync(connection, _options.Schema, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (BuildStoreException)
            {
                throw;
            }
            catch (Exception e)
            {
                var elapsed = _timeProvider.GetElapsedTime(started);
                if (!ConnectionTarget.IsTransientAtStart(e) || elapsed + delay > _options.StartTimeout)
                {
                    throw _target.Explain(e, attempt, elapsed, _options.Schema);
                }
            }

            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Sends every statement of the batch in one round trip inside one transaction, then commits. A batch that
    /// repeats lines already stored (a retry after an ambiguous commit) is recognised and those chunks are skipped.
    /// Not cancellable once the transaction has started.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is <see langword="null"/>.</exception>
    /// <exception cref="BatchRejectedException">The batch breaks the <see cref="WriteBatch"/> rules (nothing was applied); <see cref="BatchRejectedException.Keys"/> names the offending rows.</exception>
    /// <exception cref="BuildStoreException">The server could not be reached or the transaction failed (nothing was applied, or the commit's outcome is unknown; applying the batch again is safe); the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.IsEmpty)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return;
        }

        WriteBatch.Validate(batch);
        var encoded = _prepared.TryGetValue(batch, out var ready) && ready.Length == batch.LogChunks.Count
            ? ready
            : _codec.EncodeAll(batch.LogChunks);
        _prepared.Remove(batch);
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    await _applier.ApplyAsync(connection, batch, encoded).ConfigureAwait(false);
                    await PruneEventsIfDueAsync(connection).ConfigureAwait(false);
                }
                catch (NpgsqlException e)
                {
                    // Transient (Core retries it); the message names the server for the log and the health check.
                    throw new BuildStoreException($"Writing a batch to the {_target} failed: {e.Message}", e);
                }
            }
        }
        finally
        {
            _writeLock.Release();
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
    /// One statement in its own transaction: the builder's row (created when missing) hands out the next number under
    /// its row lock, and the build, its source stamps and properties are inserted with it. Concurrent starts on any
    /// number of hosts get distinct numbers. Cancellation is honoured until the statement is sent.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="build"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The build's <see cref="StoredBuild.BuilderName"/> is empty or a required field is <see langword="null"/>.</exception>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(build);
        if (string.IsNullOrEmpty(build.BuilderName) || build.HostName is null || build.StateText is null || build.SourceStamps is null
            || build.Changes is null || build.ResponsibleUsers is null || build.Properties is null)
        {
            throw new ArgumentException($"Build of '{build.BuilderName}' has an empty BuilderName or a null HostName, StateText, SourceStamps, Changes, ResponsibleUsers or Properties.", nameof(build));
        }

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await _applier.CreateBuildAsync(connection, build).ConfigureAwait(false);
            }
            catch (NpgsqlException e)
            {
                throw new BuildStoreException($"Creating a build of '{build.BuilderName}' in the {_target} failed: {e.Message}", e);
            }
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) =>
        ReadAsync((c, t) => _reader.GetBuildersAsync(c, name: null, t), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public async Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var builders = await ReadAsync((c, t) => _reader.GetBuildersAsync(c, name, t), cancellationToken).ConfigureAwait(false);
        return builders.Count == 0 ? null : builders[0];
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) =>
        ReadAsync((c, t) => _reader.GetWorkersAsync(c, name: null, t), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public async Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var workers = await ReadAsync((c, t) => _reader.GetWorkersAsync(c, name, t), cancellationToken).ConfigureAwait(false);
        return workers.Count == 0 ? null : workers[0];
    }

    /// <inheritdoc/>
    public async Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key.BuilderName, nameof(key));
        var builds = await ReadAsync((c, t) => _reader.GetBuildAsync(c, key, t), cancellationToken).ConfigureAwait(false);
        return builds.Count == 0 ? null : builds[0];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One statement on the builder's builds, newest first, on the <c>(builder_id, number)</c> index (or the result,
    /// start-time or unfinished index the planner prefers); branch, revision and property filters are indexed
    /// lookups. Stamps and properties of the page come in one more round trip.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ReadAsync((c, t) => _reader.QueryBuildsAsync(c, query, t), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(build.BuilderName, nameof(build));
        return ReadAsync((c, t) => _reader.GetStepsAsync(c, build, t), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(step.BuilderName, nameof(step));
        return ReadAsync((c, t) => _reader.GetLogsAsync(c, step, logNumber: null, t), cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log.BuilderName, nameof(log));
        var logs = await ReadAsync((c, t) => _reader.GetLogsAsync(c, log.Step, log.LogNumber, t), cancellationToken).ConfigureAwait(false);
        return logs.Count == 0 ? null : logs[0];
    }

    /// <inheritdoc/>
    /// <remarks>Reads, on the <c>(log_id, first_line)</c> key, only the chunks that overlap the range and decodes only those.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLine"/> or <paramref name="maxLines"/> is negative.</exception>
    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log.BuilderName, nameof(log));
        ArgumentOutOfRangeException.ThrowIfNegative(firstLine);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLines);
        return ReadAsync((c, t) => _reader.ReadLogLinesAsync(c, log, firstLine, maxLines, t), cancellationToken);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="hostName"/> is <see langword="null"/>.</exception>
    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hostName);
        return ReadAsync((c, t) => _reader.GetUnfinishedBuildsAsync(c, hostName, t), cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Runs on one host at a time: the pass takes <c>pg_try_advisory_lock</c> on its connection and returns
    /// <c>PruneResult(0, 0)</c> at once when another host holds it (that host is pruning the same history). Finds the
    /// targets, then deletes child rows first (log chunks, logs, steps, stamps, properties, the build), each transaction
    /// deleting at most <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        => PruneWithProgressAsync(policy, now, null, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>As <see cref="PruneAsync"/>, reporting the running totals after each committed transaction.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    public async Task<PruneResult> PruneWithProgressAsync(RetentionPolicy policy, DateTimeOffset now, IProgress<PruneResult>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            if (!await TryLockAsync(connection, "SELECT pg_try_advisory_lock($1, hashtext($2))", cancellationToken).ConfigureAwait(false))
            {
                return new PruneResult(0, 0);
            }

            try
            {
                var targets = await _pruner.FindTargetsAsync(connection, policy, now, cancellationToken).ConfigureAwait(false);
                int buildsDeleted = 0, logsDeleted = 0;
                while (targets.Count > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var transaction = await connection.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
                    await using (transaction.ConfigureAwait(false))
                    {
                        var budget = policy.MaxRowsPerTransaction;
                        while (targets.Count > 0)
                        {
                            var (done, left, builds, logs) = await _pruner.DeleteSomeAsync(connection, transaction, targets.Peek(), budget).ConfigureAwait(false);
                            budget = left;
                            buildsDeleted += builds;
                            logsDeleted += logs;
                            if (!done)
                            {
                                break;
                            }

                            targets.Dequeue();
                        }

                        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                    }

                    progress?.Report(new PruneResult(buildsDeleted, logsDeleted));
                }

                _applier.InvalidateCaches();
                return new PruneResult(buildsDeleted, logsDeleted);
            }
            finally
            {
                await TryLockAsync(connection, "SELECT pg_advisory_unlock($1, hashtext($2))", CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> TryLockAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(Parameters.Int(SchemaMigrator.JanitorLockClass));
        command.Parameters.Add(new NpgsqlParameter { Value = _options.Schema });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Closes the store's idle connections and, when the store built it, its data source.</summary>
    /// <returns>A task that completes when the data source is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
            if (_ownsDataSource)
            {
                await _dataSource.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Closes the store's idle connections and, when the store built it, its data source, for containers disposed synchronously.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (_ownsDataSource)
            {
                _dataSource.Dispose();
            }
        }
    }

    // Opens a pooled connection. A server that refuses it (down, restarting, out of connections) becomes a
    // BuildStoreException naming the target, which Core treats as transient, retries, and shows in its health check.
    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw _target.ExplainOpen(e);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    // Makes sure the schema exists (once), then runs a read on a pooled connection it returns afterwards.
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await read(connection, cancellationToken).ConfigureAwait(false);
        }
    }

}
