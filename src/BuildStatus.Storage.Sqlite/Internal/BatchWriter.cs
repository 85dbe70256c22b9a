using System.Globalization;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// The write hot path: applies batches and creates builds on the writer connection with statements that are
/// prepared once and re-bound per row (<see cref="WriterStatement"/>: no SQL parsing, Dapper reflection or
/// Microsoft.Data.Sqlite command machinery per row). Measured on the chunk insert (50,000 rows of 2 KB in one
/// transaction, the <c>Measurements</c> test fixture): 80,000 rows/s prepared and re-bound versus 42,000 rows/s
/// through Dapper's <c>Execute</c>, so Dapper stays on the read side.
/// </summary>
/// <remarks>
/// <para>
/// Rows this writer has not written are inserted (a step or log with <c>ON CONFLICT DO NOTHING</c>, which also tells
/// whether it was new), rows it has written are updated by id, and the full upsert runs only when that guess misses.
/// No hot statement has a <c>RETURNING</c> clause (about 1.2 µs per row in SQLite); new ids come from
/// <c>sqlite3_last_insert_rowid</c>.
/// </para>
/// <para>
/// Not thread-safe. The store's writer lock owns this object: the connection, the statements and the id caches are
/// only touched while that lock is held. Transactions are begun and committed through Microsoft.Data.Sqlite, which
/// retries a busy <c>BEGIN IMMEDIATE</c>.
/// </para>
/// </remarks>
internal sealed partial class BatchWriter : IDisposable
{

    /// <summary>How many parameters the build commands share (see <see cref="BindBuild"/>).</summary>
    private const int BuildColumns = 11;

    private readonly SqliteConnection _connection;
    private readonly LogChunkCodec _codec;
    private readonly List<WriterStatement> _statements = [];

    private readonly WriterStatement _selectBuilderId;
    private readonly WriterStatement _insertBuilderName;
    private readonly WriterStatement _upsertBuilder;
    private readonly WriterStatement _upsertWorker;
    private readonly WriterStatement _upsertBuild;
    private readonly WriterStatement _insertBuild;
    private readonly WriterStatement _updateBuild;
    private readonly WriterStatement _finishBuild;
    private readonly WriterStatement _deleteStamps;
    private readonly WriterStatement _insertStamp;
    private readonly WriterStatement _deleteProperties;
    private readonly WriterStatement _insertProperty;
    private readonly WriterStatement _selectBuildId;
    private readonly WriterStatement _upsertStep;
    private readonly WriterStatement _insertStep;
    private readonly WriterStatement _updateStep;
    private readonly WriterStatement _selectStepId;
    private readonly WriterStatement _upsertLog;
    private readonly WriterStatement _insertLog;
    private readonly WriterStatement _updateLog;
    private readonly WriterStatement _selectLogId;
    private readonly WriterStatement _selectNextLine;
    private readonly WriterStatement _insertChunk;
    private readonly WriterStatement _selectNextNumber;
    private readonly WriterStatement _updateLastNumber;

    // Ids and state this writer has written or read, kept across transactions so a batch does not look them up
    // again: a build created by CreateBuild needs no SELECT when its steps arrive, a log's next line is known after
    // its first chunk. Only the writer lock's holder touches them. They are cleared when a transaction fails (its
    // rollback may undo what they say), after pruning (the rows they name may be gone; their ids are never reused,
    // schema version 5), and when they grow large.
    // Rows written by another process are not cached beyond what this writer wrote: a build, its steps and its logs
    // are written only by the host that runs the build. Only builds in flight need their entries (a build with 5
    // steps of one log each has 17), so the bound is what keeps memory flat over a long history: at 100,000 the
    // caches held 4-5 MB more of the heap after 200,000 W1 builds than after 2,000; 32,768 still holds 300 builds
    // of 50 steps in flight.
    private const int MaxCachedEntries = 32_768;
    private readonly Dictionary<string, long> _builderIds = new(StringComparer.Ordinal);
    private readonly Dictionary<long, long> _lastNumbers = [];
    private readonly Dictionary<BuildKey, long> _buildIds = [];
    private readonly Dictionary<long, BuildChildren> _buildChildren = [];
    private readonly Dictionary<StepKey, (long Id, long BuildId)> _stepIds = [];
    private readonly Dictionary<LogKey, long> _logIds = [];
    private readonly Dictionary<long, long> _nextLines = [];

    // The logs the current transaction inserted (ids); cleared when a transaction begins.
    private readonly HashSet<long> _logsInsertedNow = [];

    public BatchWriter(SqliteConnection connection, LogChunkCodec codec)
    {
        _connection = connection;
        _codec = codec;

        _selectBuilderId = Create("SELECT id FROM builders WHERE name = $name", "$name");
        _insertBuilderName = Create("INSERT INTO builders (name) VALUES ($name) RETURNING id", "$name");
        _upsertBuilder = Create(
            "INSERT INTO builders (name, description, tags) VALUES ($name, $description, $tags) "
            + "ON CONFLICT (name) DO UPDATE SET description = excluded.description, tags = excluded.tags RETURNING id",
            "$name",
            "$description",
            "$tags");
        _upsertWorker = Create(
            "INSERT INTO workers (name, host, info, is_connected, last_seen) VALUES ($name, $host, $info, $connected, $lastSeen) "
            + "ON CONFLICT (name) DO UPDATE SET host = excluded.host, info = excluded.info, is_connected = excluded.is_connected, last_seen = excluded.last_seen",
            "$name",
            "$host",
            "$info",
            "$connected",
            "$lastSeen");
        // One column list and parameter order for the build row, shared by the insert and the upsert.
        const string InsertBuild =
            "INSERT INTO builds (builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text, changes, responsible_users) "
            + "VALUES ($builder, $number, $host, $reason, $worker, $started, $finished, $result, $state, $changes, $users)";
        string[] buildParameters = ["$builder", "$number", "$host", "$reason", "$worker", "$started", "$finished", "$result", "$state", "$changes", "$users"];
        _upsertBuild = Create(
            InsertBuild
            + " ON CONFLICT (builder_id, number) DO UPDATE SET host_name = excluded.host_name, reason = excluded.reason, worker_name = excluded.worker_name, "
            + "started_at = excluded.started_at, finished_at = excluded.finished_at, result = excluded.result, state_text = excluded.state_text, "
            + "changes = excluded.changes, responsible_users = excluded.responsible_users RETURNING id",
            buildParameters);
        _insertBuild = Create(InsertBuild, buildParameters);
        _updateBuild = Create(
            "UPDATE builds SET host_name = $host, reason = $reason, worker_name = $worker, started_at = $started, finished_at = $finished, result = $result, "
            + "state_text = $state, changes = $changes, responsible_users = $users WHERE id = $id AND builder_id = $builder AND number = $number",
            [.. buildParameters, "$id"]);
        _finishBuild = Create(
            "UPDATE builds SET reason = $reason, worker_name = $worker, finished_at = $finished, result = $result, state_text = $state, "
            + "changes = $changes, responsible_users = $users WHERE id = $id AND builder_id = $builder AND number = $number",
            "$builder",
            "$number",
            "$reason",
            "$worker",
            "$finished",
            "$result",
            "$state",
            "$changes",
            "$users",
            "$id");
        _deleteStamps = Create("DELETE FROM source_stamps WHERE build_id = $build", "$build");
        _insertStamp = Create(
            "INSERT INTO source_stamps (build_id, position, repository, branch, revision, project, codebase, builder_id, number) "
            + "VALUES ($build, $position, $repository, $branch, $revision, $project, $codebase, $builder, $number)",
            "$build",
            "$position",
            "$repository",
            "$branch",
            "$revision",
            "$project",
            "$codebase",
            "$builder",
            "$number");
        _deleteProperties = Create("DELETE FROM build_properties WHERE build_id = $build", "$build");
        _insertProperty = Create(
            "INSERT INTO build_properties (build_id, name, value, source, builder_id, number) VALUES ($build, $name, $value, $source, $builder, $number)",
            "$build",
            "$name",
            "$value",
            "$source",
            "$builder",
            "$number");
        _selectBuildId = Create(
            "SELECT b.id FROM builds b JOIN builders r ON r.id = b.builder_id WHERE r.name = $builder AND b.number = $number",
            "$builder",
            "$number");
        // The step row's insert, shared by the upsert (a row this writer may not know) and the plain insert.
        const string InsertStep =
            "INSERT INTO steps (build_id, number, name, state_text, started_at, finished_at, result, urls, statistics, is_hidden) "
            + "VALUES ($build, $number, $name, $state, $started, $finished, $result, $urls, $statistics, $hidden) ON CONFLICT (build_id, number) ";
        string[] stepParameters = ["$build", "$number", "$name", "$state", "$started", "$finished", "$result", "$urls", "$statistics", "$hidden"];
        _upsertStep = Create(
            InsertStep
            + "DO UPDATE SET name = excluded.name, state_text = excluded.state_text, started_at = excluded.started_at, "
            + "finished_at = excluded.finished_at, result = excluded.result, urls = excluded.urls, statistics = excluded.statistics, is_hidden = excluded.is_hidden RETURNING id",
            stepParameters);
        _insertStep = Create(InsertStep + "DO NOTHING", stepParameters);
        _updateStep = Create(
            "UPDATE steps SET name = $name, state_text = $state, started_at = $started, finished_at = $finished, result = $result, urls = $urls, "
            + "statistics = $statistics, is_hidden = $hidden WHERE id = $id AND build_id = $build AND number = $number",
            [.. stepParameters, "$id"]);
        _selectStepId = Create("SELECT id FROM steps WHERE build_id = $build AND number = $number", "$build", "$number");
        // The log row's insert, shared the same way.
        const string InsertLog =
            "INSERT INTO logs (step_id, build_id, number, name, kind, is_finished, line_count, byte_count) "
            + "VALUES ($step, $build, $number, $name, $kind, $finished, $lines, $bytes) ON CONFLICT (step_id, number) ";
        string[] logParameters = ["$step", "$build", "$number", "$name", "$kind", "$finished", "$lines", "$bytes"];
        _upsertLog = Create(
            InsertLog
            + "DO UPDATE SET name = excluded.name, kind = excluded.kind, is_finished = excluded.is_finished, "
            + "line_count = excluded.line_count, byte_count = excluded.byte_count RETURNING id",
            logParameters);
        _insertLog = Create(InsertLog + "DO NOTHING", logParameters);
        _updateLog = Create(
            "UPDATE logs SET name = $name, kind = $kind, is_finished = $finished, line_count = $lines, byte_count = $bytes "
            + "WHERE id = $id AND step_id = $step AND number = $number",
            "$step",
            "$number",
            "$name",
            "$kind",
            "$finished",
            "$lines",
            "$bytes",
            "$id");
        _selectLogId = Create("SELECT id FROM logs WHERE step_id = $step AND number = $number", "$step", "$number");
        _selectNextLine = Create("SELECT last_line + 1 FROM log_chunks WHERE log_id = $log ORDER BY first_line DESC LIMIT 1", "$log");
        _insertChunk = Create(
            "INSERT INTO log_chunks (log_id, first_line, last_line, line_count, codec, content) VALUES ($log, $first, $last, $count, $codec, $content)",
            "$log",
            "$first",
            "$last",
            "$count",
            "$codec",
            "$content");
        _selectNextNumber = Create(
            "SELECT max(last_number, coalesce((SELECT number FROM builds WHERE builder_id = $builder ORDER BY number DESC LIMIT 1), 0)) + 1 FROM builders WHERE id = $builder",
            "$builder");
        _updateLastNumber = Create("UPDATE builders SET last_number = $number WHERE id = $builder AND last_number < $number", "$builder", "$number");
    }

    /// <summary>Applies <paramref name="batch"/> in one IMMEDIATE transaction; on any error nothing is applied.</summary>
    /// <param name="batch">The batch, already checked with <see cref="WriteBatch.Validate"/>.</param>
    /// <param name="encoded">The batch's chunks encoded by <see cref="LogChunkCodec.EncodeAll"/>, in the same order.</param>
    /// <returns>The number of chunks stored (skipped retries excluded).</returns>
    /// <exception cref="BatchRejectedException">The batch breaks the <see cref="WriteBatch"/> rules.</exception>
    public int Apply(WriteBatch batch, (LogCompression Codec, byte[] Content)[] encoded)
    {
        try
        {
            return ApplyCore(batch, encoded);
        }
        catch
        {
            InvalidateCaches();
            throw;
        }
    }

    private int ApplyCore(WriteBatch batch, (LogCompression Codec, byte[] Content)[] encoded)
    {
        using var transaction = Begin();
        ThrowIfFenced(batch.InstanceId);
        foreach (var builder in batch.Builders)
        {
            _builderIds[builder.Name] = Scalar(_upsertBuilder, builder.Name, builder.Description, Json.Write(builder.Tags));
        }

        foreach (var worker in batch.Workers)
        {
            Execute(_upsertWorker, worker.Name, worker.Host, Json.Write(worker.Info), worker.IsConnected ? 1L : 0L, UnixTime.ToStored(worker.LastSeen));
        }

        foreach (var build in batch.Builds)
        {
            UpsertBuild(build, build.Number);
        }

        UpsertRequests(batch.Requests);

        foreach (var step in batch.Steps)
        {
            WriteStep(step);
        }

        foreach (var log in batch.Logs)
        {
            WriteLog(log);
        }

        var stored = 0;
        for (var i = 0; i < batch.LogChunks.Count; i++)
        {
            if (AppendChunk(batch.LogChunks[i], encoded[i]))
            {
                stored++;
            }
        }

        InsertEvents(batch.Events, batch.InstanceId);
        transaction.Commit();
        return stored;
    }

    // A step this writer wrote is updated in place by id; one it never wrote is inserted, which also tells that it is
    // new. Either can miss: a row this writer never wrote may exist (written by an earlier run of the host, as
    // recovery does, or by another process), and a row it wrote may be gone (pruned by another process). Then the
    // upsert replaces or re-creates it, as the SPI asks.
    private void WriteStep(StoredStep step)
    {
        var urls = Json.Write(step.Urls);
        var statistics = Json.Write(step.Statistics);
        if (_stepIds.TryGetValue(step.Key, out var ids))
        {
            if (Execute(_updateStep, ids.BuildId, (long)step.Key.StepNumber, step.Name, step.StateText, UnixTime.ToStored(step.StartedAt), UnixTime.ToStored(step.FinishedAt), (long?)step.Result, urls, statistics, step.IsHidden ? 1L : 0L, ids.Id) == 1)
            {
                return;
            }
        }
        else
        {
            var buildId = ResolveBuild(step.Key.Build, "step", step.Key);
            if (Execute(_insertStep, buildId, (long)step.Key.StepNumber, step.Name, step.StateText, UnixTime.ToStored(step.StartedAt), UnixTime.ToStored(step.FinishedAt), (long?)step.Result, urls, statistics, step.IsHidden ? 1L : 0L) == 1)
            {
                _stepIds[step.Key] = (_insertStep.LastInsertRowId(), buildId);
                return;
            }
        }

        var build = ResolveBuild(step.Key.Build, "step", step.Key);
        var id = Scalar(_upsertStep, build, (long)step.Key.StepNumber, step.Name, step.StateText, UnixTime.ToStored(step.StartedAt), UnixTime.ToStored(step.FinishedAt), (long?)step.Result, urls, statistics, step.IsHidden ? 1L : 0L);
        _stepIds[step.Key] = (id, build);
    }

    // As WriteStep. A log inserted in this transaction has no chunks but the ones this transaction adds, so its first
    // chunk needs no query for its next line. (Only in this transaction: until this writer stores a chunk of the log,
    // another connection may add some, as a test does to write chunks in an earlier version's format.)
    private void WriteLog(StoredLog log)
    {
        var (stepId, buildId) = ResolveStep(log.Key.Step, "log", log.Key);
        if (_logIds.TryGetValue(log.Key, out var id))
        {
            if (Execute(_updateLog, stepId, (long)log.Key.LogNumber, log.Name, (long)log.Kind, log.IsFinished ? 1L : 0L, log.LineCount, log.ByteCount, id) == 1)
            {
                return;
            }
        }
        else if (Execute(_insertLog, stepId, buildId, (long)log.Key.LogNumber, log.Name, (long)log.Kind, log.IsFinished ? 1L : 0L, log.LineCount, log.ByteCount) == 1)
        {
            id = _insertLog.LastInsertRowId();
            _logIds[log.Key] = id;
            _logsInsertedNow.Add(id);
            return;
        }

        _logIds[log.Key] = Scalar(_upsertLog, stepId, buildId, (long)log.Key.LogNumber, log.Name, (long)log.Kind, log.IsFinished ? 1L : 0L, log.LineCount, log.ByteCount);
    }

    /// <summary>Allocates the next number of the build's builder and inserts the build, in one IMMEDIATE transaction.</summary>
    public int CreateBuild(StoredBuild build)
    {
        CheckNewBuild(build);
        try
        {
            using var transaction = Begin();
            ThrowIfFenced(build.InstanceId);
            if (FindCreation(build.CreationId) is { } created)
            {
                // A retry after an ambiguous failure: the first attempt's build.
                return created;
            }

            var builderId = GetOrCreateBuilder(build.BuilderName);
            var number = NextNumber(build.BuilderName, builderId);
            UpsertBuild(build, number, isNew: true);
            RecordCreation(build, number);
            transaction.Commit();
            return number;
        }
        catch
        {
            InvalidateCaches();
            throw;
        }
    }

    private static void CheckNewBuild(StoredBuild build)
    {
        if (string.IsNullOrEmpty(build.BuilderName) || build.HostName is null || build.StateText is null || build.SourceStamps is null
            || build.Changes is null || build.ResponsibleUsers is null || build.Properties is null)
        {
            throw new ArgumentException($"Build of '{build.BuilderName}' has a null HostName, StateText, SourceStamps, Changes, ResponsibleUsers or Properties.", nameof(build));
        }
    }

    // Inside a write transaction: the builder's next number, read from the database (another process may have used some).
    private int NextNumber(string builderName, long builderId)
    {
        var next = Scalar(_selectNextNumber, builderId);
        if (next > int.MaxValue)
        {
            throw new BuildStoreException($"Builder '{builderName}' has used every build number.");
        }

        return (int)next;
    }

    /// <summary>
    /// Creates several builds in one IMMEDIATE transaction (one commit for a burst of build starts), numbering them in
    /// list order. All or none: on an exception nothing is stored and the caller may retry them one by one.
    /// </summary>
    /// <returns>The numbers, in list order.</returns>
    public int[] CreateBuilds(IReadOnlyList<StoredBuild> builds)
    {
        var numbers = new int[builds.Count];
        try
        {
            using var transaction = Begin();
            for (var i = 0; i < builds.Count; i++)
            {
                var build = builds[i];
                CheckNewBuild(build);
                ThrowIfFenced(build.InstanceId);
                if (FindCreation(build.CreationId) is { } created)
                {
                    numbers[i] = created;
                    continue;
                }

                var builderId = GetOrCreateBuilder(build.BuilderName);
                numbers[i] = NextNumber(build.BuilderName, builderId);
                UpsertBuild(build, numbers[i], isNew: true);
                RecordCreation(build, numbers[i]);
            }

            transaction.Commit();
            return numbers;
        }
        catch
        {
            InvalidateCaches();
            throw;
        }
    }

    /// <summary>Forgets every cached id and line count (after a rollback or a prune).</summary>
    public void InvalidateCaches()
    {
        _builderIds.Clear();
        _lastNumbers.Clear();
        _buildIds.Clear();
        _buildChildren.Clear();
        _stepIds.Clear();
        _logIds.Clear();
        _nextLines.Clear();
        _logsInsertedNow.Clear();
    }

    public void Dispose()
    {
        foreach (var statement in _statements)
        {
            statement.Dispose();
        }
    }

    private SqliteTransaction Begin()
    {
        if (_buildIds.Count + _stepIds.Count + _logIds.Count + _nextLines.Count + _buildChildren.Count > MaxCachedEntries)
        {
            InvalidateCaches();
        }

        _logsInsertedNow.Clear();

        // BEGIN IMMEDIATE: take the write lock up front so another process cannot make us fail with SQLITE_BUSY mid-way.
        // The statements run on the connection's handle, inside this transaction.
        var transaction = _connection.BeginTransaction(deferred: false);
        return transaction;
    }

    /// <param name="build">The build row.</param>
    /// <param name="number">Its number.</param>
    /// <param name="isNew">Whether the number was just allocated, so the build has no stamps or properties to replace.</param>
    private void UpsertBuild(StoredBuild build, int number, bool isNew = false)
    {
        var builderId = GetOrCreateBuilder(build.BuilderName);
        var key = new BuildKey(build.BuilderName, number);
        var changes = Json.Write(build.Changes);
        var users = Json.Write(build.ResponsibleUsers);
        long id;
        if (isNew)
        {
            // The number was allocated in this transaction, so no row has it: a plain insert.
            BindBuild(_insertBuild, builderId, number, build, changes, users);
            _insertBuild.Execute();
            id = _insertBuild.LastInsertRowId();
        }
        else if (_buildIds.TryGetValue(key, out id) && UpdateBuild(id, builderId, number, build, changes, users))
        {
            // Written (usually created) by this writer: updated in place by id.
        }
        else
        {
            // Never written by this writer (recovery, a batch that names its number, another process) or gone.
            BindBuild(_upsertBuild, builderId, number, build, changes, users);
            id = _upsertBuild.QueryInt64() ?? throw new InvalidOperationException($"'{_upsertBuild.Sql}' returned no row.");
        }

        _buildIds[key] = id;

        // Numbers are never reused, even for a number first written by a batch and later pruned. A number this
        // writer allocated or recorded needs no update.
        if (!_lastNumbers.TryGetValue(builderId, out var last) || last < number)
        {
            Execute(_updateLastNumber, builderId, (long)number);
            _lastNumbers[builderId] = number;
        }

        // The build's stamps and properties are part of its snapshot: replace them, unless they are the very lists
        // this writer last wrote for the build (Core reuses them while they do not change). Their rows carry the
        // build's builder and number, the keys of the history filter indexes (migration 0004).
        if (!_buildChildren.TryGetValue(id, out var children))
        {
            children = new BuildChildren();
            _buildChildren[id] = children;
        }

        children.StartedAt = build.StartedAt;
        children.HostName = build.HostName;

        if (!ReferenceEquals(children.SourceStamps, build.SourceStamps))
        {
            if (!isNew)
            {
                Execute(_deleteStamps, id);
            }

            for (var i = 0; i < build.SourceStamps.Count; i++)
            {
                var stamp = build.SourceStamps[i];
                Execute(_insertStamp, id, (long)i, stamp.Repository, stamp.Branch, stamp.Revision, stamp.Project, stamp.Codebase, builderId, (long)number);
            }

            children.SourceStamps = build.SourceStamps;
        }

        if (!ReferenceEquals(children.Properties, build.Properties))
        {
            if (!isNew)
            {
                Execute(_deleteProperties, id);
            }

            foreach (var (name, value) in build.Properties)
            {
                Execute(_insertProperty, id, name, value.Value, value.Source, builderId, (long)number);
            }

            children.Properties = build.Properties;
        }
    }

    // Updates a build row this writer wrote, by id; false when the row is not there (deleted by another connection).
    // When the started time and host are the ones this writer last wrote, they are left out of the SET list, so SQLite
    // leaves the two indexes on them alone (it rewrites an index entry whenever SET names one of its columns).
    private bool UpdateBuild(long id, long builderId, int number, StoredBuild build, string changes, string users)
    {
        if (_buildChildren.TryGetValue(id, out var last) && last.StartedAt == build.StartedAt && string.Equals(last.HostName, build.HostName, StringComparison.Ordinal))
        {
            return Execute(
                _finishBuild,
                builderId,
                (long)number,
                build.Reason,
                build.WorkerName,
                UnixTime.ToStored(build.FinishedAt),
                (long?)build.Result,
                build.StateText,
                changes,
                users,
                id) == 1;
        }

        BindBuild(_updateBuild, builderId, number, build, changes, users);
        _updateBuild.Bind(BuildColumns, id);
        return _updateBuild.Execute() == 1;
    }

    // The first BuildColumns parameters of _insertBuild, _updateBuild and _upsertBuild, in that order.
    private static void BindBuild(WriterStatement statement, long builderId, int number, StoredBuild build, string changes, string users)
    {
        statement.Bind(0, builderId);
        statement.Bind(1, (long)number);
        statement.Bind(2, build.HostName);
        statement.Bind(3, build.Reason);
        statement.Bind(4, build.WorkerName);
        statement.Bind(5, UnixTime.ToStored(build.StartedAt));
        statement.Bind(6, UnixTime.ToStored(build.FinishedAt));
        statement.Bind(7, (long?)build.Result);
        statement.Bind(8, build.StateText);
        statement.Bind(9, changes);
        statement.Bind(10, users);
    }

    /// <summary>What this writer last wrote for a build: the indexed start time and host, and the child lists (compared by reference).</summary>
    private sealed class BuildChildren
    {
        public DateTimeOffset? StartedAt { get; set; }

        public string? HostName { get; set; }

        public object? SourceStamps { get; set; }

        public object? Properties { get; set; }
    }

    private long GetOrCreateBuilder(string name)
    {
        if (!_builderIds.TryGetValue(name, out var id))
        {
            id = TryScalar(_selectBuilderId, name) ?? Scalar(_insertBuilderName, name);
            _builderIds[name] = id;
        }

        return id;
    }

    private long ResolveBuild(BuildKey key, string what, object owner)
    {
        if (!_buildIds.TryGetValue(key, out var id))
        {
            id = TryScalar(_selectBuildId, key.BuilderName, (long)key.Number)
                ?? throw Reject($"The batch has a {what} ({owner}) of build {key.BuilderName} #{key.Number}, which does not exist.", owner);
            _buildIds[key] = id;
        }

        return id;
    }

    private (long Id, long BuildId) ResolveStep(StepKey key, string what, object owner)
    {
        if (!_stepIds.TryGetValue(key, out var ids))
        {
            var buildId = ResolveBuild(key.Build, what, owner);
            var id = TryScalar(_selectStepId, buildId, (long)key.StepNumber)
                ?? throw Reject($"The batch has a {what} ({owner}) of step {key.StepNumber} of build {key.BuilderName} #{key.BuildNumber}, which does not exist.", owner);
            ids = (id, buildId);
            _stepIds[key] = ids;
        }

        return ids;
    }

    private bool AppendChunk(StoredLogChunk chunk, (LogCompression Codec, byte[] Content) encoded)
    {
        if (!_logIds.TryGetValue(chunk.Log, out var logId))
        {
            var (stepId, _) = ResolveStep(chunk.Log.Step, "log chunk", chunk.Log);
            logId = TryScalar(_selectLogId, stepId, (long)chunk.Log.LogNumber)
                ?? throw Reject($"The batch has a log chunk of {chunk.Log}, which does not exist.", chunk.Log);
            _logIds[chunk.Log] = logId;
        }

        if (!_nextLines.TryGetValue(logId, out var next) && !_logsInsertedNow.Contains(logId))
        {
            next = TryScalar(_selectNextLine, logId) ?? 0;
        }

        var first = chunk.FirstLine;
        if (first < next)
        {
            // Already stored: the batch is a retry after an ambiguous failure.
            return false;
        }

        if (first > next)
        {
            throw Reject(string.Create(
                CultureInfo.InvariantCulture,
                $"The batch has a log chunk of {chunk.Log} starting at line {first}, but the log has {next} lines stored; the chunk would leave a gap."),
                chunk.Log);
        }

        var (codec, content) = encoded;
        var last = chunk.LastLine;
        Execute(_insertChunk, logId, first, last, (long)chunk.LineCount, (long)codec, content);
        _nextLines[logId] = last + 1;
        return true;
    }

    private static BatchRejectedException Reject(string message, object key) => new(message + " Nothing in the batch was applied.", [key]);

    private WriterStatement Create(string sql, params string[] parameterNames)
    {
        var statement = new WriterStatement(_connection, sql, parameterNames);
        _statements.Add(statement);
        return statement;
    }

    /// <returns>The number of rows inserted, updated or deleted.</returns>
    private static int Execute(WriterStatement statement, params ReadOnlySpan<object?> values) => statement.Execute(values);

    private static long Scalar(WriterStatement statement, params ReadOnlySpan<object?> values) =>
        statement.QueryInt64(values) ?? throw new InvalidOperationException($"'{statement.Sql}' returned no row.");

    private static long? TryScalar(WriterStatement statement, params ReadOnlySpan<object?> values) => statement.QueryInt64(values);
}
