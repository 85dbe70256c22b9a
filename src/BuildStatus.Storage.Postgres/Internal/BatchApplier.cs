using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Npgsql;
using static BuildStatus.Storage.Postgres.Internal.Parameters;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// The write path: applies a <see cref="WriteBatch"/> in one transaction as one pipelined <see cref="NpgsqlBatch"/>
/// (every statement sent in one network write, then one <c>COMMIT</c>), and creates builds in one statement each.
/// </summary>
/// <remarks>
/// <para>
/// Rows are addressed by their natural keys (builder name, build number, step and log numbers) resolved on the
/// server inside each statement, so no statement waits for an id returned by another and the whole batch travels
/// together. A child is written with <c>INSERT ... SELECT</c> from its parent, so a missing parent shows as fewer rows
/// written instead of an error that would abort the transaction; a chunk is appended only when its first line is its
/// log's <c>stored_lines</c>.
/// </para>
/// <para>
/// The fast form sends one statement per kind of row, each with every row's values in arrays (<c>unnest</c>), so a
/// batch of thousands of rows is about a dozen statements; each statement's row count is known in advance. When
/// every count matches, the transaction commits. Otherwise (a retried batch whose chunks are already stored, a
/// missing parent, a log's chunks with a gap between them) it is rolled back and the batch runs again in the careful
/// form: the stored line counts of the batch's logs are read first, chunks already stored are left out, and one
/// statement per row tells exactly which rows cannot be stored; those are named in a
/// <see cref="BatchRejectedException"/> and nothing is applied.
/// </para>
/// <para>
/// Threading: <see cref="ApplyAsync"/> is called by one caller at a time (the store's writer lock);
/// <see cref="CreateBuildAsync"/> from any thread at once. The caches below are concurrent dictionaries, written only
/// after a commit and cleared after any failure, so a stale entry can cost at most a careful re-run.
/// </para>
/// </remarks>
internal sealed partial class BatchApplier
{
    private const int MaxCachedBuilds = 50_000;

    private readonly string _upsertBuilder;
    private readonly string _upsertWorker;
    private readonly string _ensureBuilder;
    private readonly string _raiseLastNumber;
    private readonly string _upsertBuild;
    private readonly string _deleteStamps;
    private readonly string _insertStamps;
    private readonly string _deleteProperties;
    private readonly string _insertProperties;
    private readonly string _upsertStep;
    private readonly string _upsertLog;
    private readonly string _appendChunk;
    private readonly string _storedLines;
    private readonly string _createBuild;
    private readonly string _multiBuilders;
    private readonly string _multiWorkers;
    private readonly string _multiEnsureBuilders;
    private readonly string _multiRaiseLastNumbers;
    private readonly string _multiBuilds;
    private readonly string _multiDeleteStamps;
    private readonly string _multiInsertStamps;
    private readonly string _multiDeleteProperties;
    private readonly string _multiInsertProperties;
    private readonly string _multiSteps;
    private readonly string _multiLogs;
    private readonly string _multiChunks;

    // The highest number known to be in each builder's last_number (committed): a build numbered at or below it
    // needs no builder statement. last_number only grows, so an entry can be low but never wrong.
    private readonly ConcurrentDictionary<string, int> _lastNumbers = new(StringComparer.Ordinal);

    // The stamp and property lists last committed for a build, compared by reference: Core reuses a build's lists
    // while they do not change, so most build updates leave its child rows alone.
    private readonly ConcurrentDictionary<BuildKey, (object Stamps, object Properties)> _children = new();

    // How many batches needed the careful form (Interlocked); for tests.
    private long _carefulRuns;

    private readonly EventOutbox? _outbox;

    public BatchApplier(string schema, EventOutbox? outbox)
    {
        _outbox = outbox;
        var s = "\"" + schema + "\"";
        _instance = new InstanceStatements(s);
        var builderId = $"(SELECT r.id FROM {s}.builders r WHERE r.name = $1)";
        var buildId = $"(SELECT b.id FROM {s}.builds b WHERE b.builder_id = {builderId} AND b.number = $2)";
        _upsertBuilder = $"INSERT INTO {s}.builders (name, description, tags) VALUES ($1, $2, $3) "
            + "ON CONFLICT (name) DO UPDATE SET description = excluded.description, tags = excluded.tags";
        _upsertWorker = $"INSERT INTO {s}.workers (name, host, info, is_connected, last_seen) VALUES ($1, $2, $3, $4, $5) "
            + "ON CONFLICT (name) DO UPDATE SET host = excluded.host, info = excluded.info, is_connected = excluded.is_connected, last_seen = excluded.last_seen";

        // Two statements rather than one upsert: ON CONFLICT DO UPDATE locks the builder row even when nothing
        // changes, and build starts on other hosts wait for that lock.
        _ensureBuilder = $"INSERT INTO {s}.builders (name, last_number) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        _raiseLastNumber = $"UPDATE {s}.builders SET last_number = $2 WHERE name = $1 AND last_number < $2";
        _upsertBuild = $"INSERT INTO {s}.builds (builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text, changes, responsible_users) "
            + $"SELECT r.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM {s}.builders r WHERE r.name = $1 "
            + "ON CONFLICT (builder_id, number) DO UPDATE SET host_name = excluded.host_name, reason = excluded.reason, worker_name = excluded.worker_name, "
            + "started_at = excluded.started_at, finished_at = excluded.finished_at, result = excluded.result, state_text = excluded.state_text, "
            + "changes = excluded.changes, responsible_users = excluded.responsible_users";
        _deleteStamps = $"DELETE FROM {s}.source_stamps WHERE build_id = {buildId}";
        _insertStamps = $"INSERT INTO {s}.source_stamps (build_id, position, repository, branch, revision, project, codebase) "
            + $"SELECT {buildId}, u.ord - 1, u.repository, u.branch, u.revision, u.project, u.codebase "
            + "FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS u (repository, branch, revision, project, codebase, ord)";
        _deleteProperties = $"DELETE FROM {s}.build_properties WHERE build_id = {buildId}";
        _insertProperties = $"INSERT INTO {s}.build_properties (build_id, name, value, source) "
            + $"SELECT {buildId}, u.name, u.value, u.source FROM unnest($3::text[], $4::text[], $5::text[]) AS u (name, value, source)";
        _upsertStep = $"INSERT INTO {s}.steps (build_id, number, name, state_text, started_at, finished_at, result, urls, statistics, is_hidden) "
            + $"SELECT b.id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM {s}.builds b WHERE b.builder_id = {builderId} AND b.number = $2 "
            + "ON CONFLICT (build_id, number) DO UPDATE SET name = excluded.name, state_text = excluded.state_text, started_at = excluded.started_at, "
            + "finished_at = excluded.finished_at, result = excluded.result, urls = excluded.urls, statistics = excluded.statistics, is_hidden = excluded.is_hidden";
        _upsertLog = $"INSERT INTO {s}.logs (build_id, step_number, number, name, kind, is_finished, line_count, byte_count) "
            + $"SELECT t.build_id, t.number, $4, $5, $6, $7, $8, $9 FROM {s}.steps t WHERE t.build_id = {buildId} AND t.number = $3 "
            + "ON CONFLICT (build_id, step_number, number) DO UPDATE SET name = excluded.name, kind = excluded.kind, is_finished = excluded.is_finished, "
            + "line_count = excluded.line_count, byte_count = excluded.byte_count";
        _appendChunk = $"WITH l AS (UPDATE {s}.logs SET stored_lines = $6 + 1 WHERE build_id = {buildId} AND step_number = $3 AND number = $4 AND stored_lines = $5 RETURNING id) "
            + $"INSERT INTO {s}.log_chunks (log_id, first_line, last_line, codec, content) SELECT l.id, $5, $6, $7, $8 FROM l";
        _storedLines = $"SELECT u.i, l.stored_lines FROM unnest($1::text[], $2::int[], $3::int[], $4::int[]) WITH ORDINALITY AS u (builder, build, step, log, i) "
            + $"JOIN {s}.builders r ON r.name = u.builder JOIN {s}.builds b ON b.builder_id = r.id AND b.number = u.build "
            + $"JOIN {s}.logs l ON l.build_id = b.id AND l.step_number = u.step AND l.number = u.log";

        // One statement, so one round trip and its own implicit transaction: the builder row (created or not) hands
        // out the next number under its row lock, which orders concurrent starts on every host.
        _createBuild = $"WITH r AS (INSERT INTO {s}.builders AS r (name, last_number) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET last_number = r.last_number + 1 RETURNING r.id, r.last_number), "
            + $"b AS (INSERT INTO {s}.builds (builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text, changes, responsible_users) "
            + "SELECT r.id, r.last_number, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM r RETURNING id, number), "
            + $"st AS (INSERT INTO {s}.source_stamps (build_id, position, repository, branch, revision, project, codebase) "
            + "SELECT b.id, u.ord - 1, u.repository, u.branch, u.revision, u.project, u.codebase FROM b, "
            + "unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) WITH ORDINALITY AS u (repository, branch, revision, project, codebase, ord)), "
            + $"pr AS (INSERT INTO {s}.build_properties (build_id, name, value, source) SELECT b.id, u.name, u.value, u.source FROM b, "
            + "unnest($16::text[], $17::text[], $18::text[]) AS u (name, value, source)) "
            + "SELECT number FROM b";

        // The multi-row statements of the fast form (AddMultiRow): every row of a kind in one statement, from arrays.
        const string On = " WHERE r.name = u.builder AND b.builder_id = r.id AND b.number = u.build";
        _multiBuilders = $"INSERT INTO {s}.builders (name, description, tags) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
            + "ON CONFLICT (name) DO UPDATE SET description = excluded.description, tags = excluded.tags";
        _multiWorkers = $"INSERT INTO {s}.workers (name, host, info, is_connected, last_seen) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[]) "
            + "ON CONFLICT (name) DO UPDATE SET host = excluded.host, info = excluded.info, is_connected = excluded.is_connected, last_seen = excluded.last_seen";
        _multiEnsureBuilders = $"INSERT INTO {s}.builders (name, last_number) SELECT u.name, max(u.number) FROM unnest($1::text[], $2::int[]) AS u (name, number) GROUP BY u.name "
            + "ON CONFLICT (name) DO NOTHING";
        _multiRaiseLastNumbers = $"UPDATE {s}.builders r SET last_number = u.number FROM (SELECT x.name, max(x.number) AS number FROM unnest($1::text[], $2::int[]) AS x (name, number) GROUP BY x.name) u "
            + "WHERE r.name = u.name AND r.last_number < u.number";
        _multiBuilds = $"INSERT INTO {s}.builds (builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text, changes, responsible_users) "
            + "SELECT r.id, u.build, u.host, u.reason, u.worker, u.started, u.finished, u.result, u.state, u.changes, u.users "
            + "FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::smallint[], $9::text[], $10::text[], $11::text[]) "
            + $"AS u (builder, build, host, reason, worker, started, finished, result, state, changes, users), {s}.builders r WHERE r.name = u.builder "
            + "ON CONFLICT (builder_id, number) DO UPDATE SET host_name = excluded.host_name, reason = excluded.reason, worker_name = excluded.worker_name, "
            + "started_at = excluded.started_at, finished_at = excluded.finished_at, result = excluded.result, state_text = excluded.state_text, "
            + "changes = excluded.changes, responsible_users = excluded.responsible_users";
        _multiDeleteStamps = $"DELETE FROM {s}.source_stamps t USING unnest($1::text[], $2::int[]) AS u (builder, build), {s}.builders r, {s}.builds b{On} AND t.build_id = b.id";
        _multiInsertStamps = $"INSERT INTO {s}.source_stamps (build_id, position, repository, branch, revision, project, codebase) "
            + "SELECT b.id, u.position, u.repository, u.branch, u.revision, u.project, u.codebase "
            + "FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) "
            + $"AS u (builder, build, position, repository, branch, revision, project, codebase), {s}.builders r, {s}.builds b{On}";
        _multiDeleteProperties = $"DELETE FROM {s}.build_properties t USING unnest($1::text[], $2::int[]) AS u (builder, build), {s}.builders r, {s}.builds b{On} AND t.build_id = b.id";
        _multiInsertProperties = $"INSERT INTO {s}.build_properties (build_id, name, value, source) SELECT b.id, u.name, u.value, u.source "
            + $"FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[]) AS u (builder, build, name, value, source), {s}.builders r, {s}.builds b{On}";
        _multiSteps = $"INSERT INTO {s}.steps (build_id, number, name, state_text, started_at, finished_at, result, urls, statistics, is_hidden) "
            + "SELECT b.id, u.step, u.name, u.state, u.started, u.finished, u.result, u.urls, u.statistics, u.hidden "
            + "FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::smallint[], $9::text[], $10::text[], $11::boolean[]) "
            + $"AS u (builder, build, step, name, state, started, finished, result, urls, statistics, hidden), {s}.builders r, {s}.builds b{On} "
            + "ON CONFLICT (build_id, number) DO UPDATE SET name = excluded.name, state_text = excluded.state_text, started_at = excluded.started_at, "
            + "finished_at = excluded.finished_at, result = excluded.result, urls = excluded.urls, statistics = excluded.statistics, is_hidden = excluded.is_hidden";
        _multiLogs = $"INSERT INTO {s}.logs (build_id, step_number, number, name, kind, is_finished, line_count, byte_count) "
            + "SELECT t.build_id, t.number, u.log, u.name, u.kind, u.finished, u.lines, u.bytes "
            + "FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::text[], $6::smallint[], $7::boolean[], $8::bigint[], $9::bigint[]) "
            + $"AS u (builder, build, step, log, name, kind, finished, lines, bytes), {s}.builders r, {s}.builds b, {s}.steps t{On} AND t.build_id = b.id AND t.number = u.step "
            + "ON CONFLICT (build_id, step_number, number) DO UPDATE SET name = excluded.name, kind = excluded.kind, is_finished = excluded.is_finished, "
            + "line_count = excluded.line_count, byte_count = excluded.byte_count";

        // A log's chunks in one batch are contiguous (checked first), so its stored_lines moves from the first chunk's
        // first line past the last chunk's last line in one update, and the chunks go in only for logs it matched.
        _multiChunks = "WITH u AS (SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::bigint[], $6::bigint[], $7::smallint[], $8::bytea[]) "
            + "AS x (builder, build, step, log, first_line, last_line, codec, content)), "
            + "a AS (SELECT builder, build, step, log, min(first_line) AS first_line, max(last_line) AS last_line FROM u GROUP BY builder, build, step, log), "
            + $"l AS (UPDATE {s}.logs g SET stored_lines = u.last_line + 1 FROM a AS u, {s}.builders r, {s}.builds b{On} "
            + "AND g.build_id = b.id AND g.step_number = u.step AND g.number = u.log AND g.stored_lines = u.first_line RETURNING g.id, u.builder, u.build, u.step, u.log) "
            + $"INSERT INTO {s}.log_chunks (log_id, first_line, last_line, codec, content) SELECT l.id, u.first_line, u.last_line, u.codec, u.content "
            + "FROM u JOIN l ON l.builder = u.builder AND l.build = u.build AND l.step = u.step AND l.log = u.log";
    }

    /// <summary>Allocates the next number of the build's builder and inserts the build with it, in one statement.</summary>
    public async Task<int> CreateBuildAsync(NpgsqlConnection connection, StoredBuild build)
    {
        if (build.InstanceId is not null || build.CreationId is not null)
        {
            return await CreateInstanceBuildAsync(connection, build).ConfigureAwait(false);
        }

        using var command = new NpgsqlCommand(_createBuild, connection);
        AddCreateBuildParameters(command.Parameters, build);

        // Not cancellable once sent: a cancelled statement might still have committed, and its number would be lost.
        var number = Convert.ToInt32(await command.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false), CultureInfo.InvariantCulture);
        var key = new BuildKey(build.BuilderName, number);
        RaiseKnownLastNumber(build.BuilderName, number);
        if (_children.Count < MaxCachedBuilds)
        {
            _children[key] = (build.SourceStamps, build.Properties);
        }

        return number;
    }

    /// <summary>Applies a checked batch whose chunks are <paramref name="encoded"/> (same order) in one transaction.</summary>
    /// <exception cref="BatchRejectedException">Rows of the batch can never be stored; nothing was applied.</exception>
    public async Task ApplyAsync(NpgsqlConnection connection, WriteBatch batch, (PostgresLogCompression Codec, byte[] Content)[] encoded)
    {
        try
        {
            var fast = await RunAsync(connection, batch, encoded, skipChunks: null, rejected: [], useCaches: true).ConfigureAwait(false);
            if (fast.Count == 0)
            {
                Remember(batch);
                return;
            }

            // Something did not match (a retried batch, a missing parent, a stale cache): look before writing again.
            Interlocked.Increment(ref _carefulRuns);
            _children.Clear();
            var (skip, rejected) = await CheckChunksAsync(connection, batch).ConfigureAwait(false);
            var careful = await RunAsync(connection, batch, encoded, skip, rejected, useCaches: false).ConfigureAwait(false);
            if (careful.Count == 0)
            {
                Remember(batch);
                return;
            }

            throw Reject(careful);
        }
        catch
        {
            _children.Clear();
            throw;
        }
    }

    /// <summary>Gets how many batches were run again in the careful form.</summary>
    public long CarefulRuns => Interlocked.Read(ref _carefulRuns);

    /// <summary>Forgets the cached child lists (after pruning, or when another writer may have changed them).</summary>
    public void InvalidateCaches() => _children.Clear();

    // Runs the batch in a transaction. Returns the problems found (commits only when there are none).
    private async Task<List<Problem>> RunAsync(
        NpgsqlConnection connection,
        WriteBatch batch,
        (PostgresLogCompression Codec, byte[] Content)[] encoded,
        bool[]? skipChunks,
        List<Problem> rejected,
        bool useCaches)
    {
        var problems = new List<Problem>(rejected);
        var npgsqlBatch = new NpgsqlBatch(connection);
        await using (npgsqlBatch.ConfigureAwait(false))
        {
            // The problem each statement reports when it affects no row (null: any count is fine).
            var expected = new List<Problem?>(batch.Count * 2);

            // The fast form: each statement's expected row count (-1: any).
            var expectedCounts = new List<int>();
            var multiRow = useCaches && AddMultiRow(npgsqlBatch, expectedCounts, batch, encoded);
            if (useCaches && !multiRow)
            {
                return [new Problem(string.Empty, "a log's chunks in the batch are not contiguous")];
            }

            if (!multiRow)
            {
                Add(npgsqlBatch, expected, null, _upsertBuilder, [.. batch.Builders.SelectMany<StoredBuilder, NpgsqlParameter>(b => [Text(b.Name), Text(b.Description), Json(Postgres.Internal.Json.Write(b.Tags))])], perRow: 3);
                Add(npgsqlBatch, expected, null, _upsertWorker, [.. batch.Workers.SelectMany<StoredWorker, NpgsqlParameter>(w => [Text(w.Name), Text(w.Host), Json(Postgres.Internal.Json.Write(w.Info)), Bool(w.IsConnected), Time(w.LastSeen)])], perRow: 5);
                foreach (var build in batch.Builds)
                {
                    AddCarefulBuild(npgsqlBatch, expected, build);
                }

                foreach (var step in batch.Steps)
                {
                    var k = step.Key;
                    Add(npgsqlBatch, expected, new Problem(k, $"step {k} belongs to build {k.Build}, which does not exist"), _upsertStep,
                        [Text(k.BuilderName), Int(k.BuildNumber), Int(k.StepNumber), Text(step.Name), Text(step.StateText), Time(step.StartedAt), Time(step.FinishedAt), Result(step.Result),
                         Json(Postgres.Internal.Json.Write(step.Urls)), Json(Postgres.Internal.Json.Write(step.Statistics)), Bool(step.IsHidden)]);
                }

                foreach (var log in batch.Logs)
                {
                    var k = log.Key;
                    Add(npgsqlBatch, expected, new Problem(k, $"log {k} belongs to step {k.Step}, which does not exist"), _upsertLog,
                        [Text(k.BuilderName), Int(k.BuildNumber), Int(k.StepNumber), Int(k.LogNumber), Text(log.Name), Short((short)log.Kind), Bool(log.IsFinished), Long(log.LineCount), Long(log.ByteCount)]);
                }

                for (var i = 0; i < batch.LogChunks.Count; i++)
                {
                    if (skipChunks is not null && skipChunks[i])
                    {
                        continue;
                    }

                    var chunk = batch.LogChunks[i];
                    var k = chunk.Log;
                    Add(npgsqlBatch, expected, new Problem(k, $"the chunk of lines {chunk.FirstLine}-{chunk.LastLine} of log {k} does not follow its stored lines"), _appendChunk,
                        [Text(k.BuilderName), Int(k.BuildNumber), Int(k.StepNumber), Int(k.LogNumber), Long(chunk.FirstLine), Long(chunk.LastLine), Short((short)encoded[i].Codec), Bytes(encoded[i].Content)]);
                }
            }

            // After every row statement, so the indexes above stay those of the expected counts.
            AddRequests(npgsqlBatch, batch.Requests);
            var fence = AddFenceCheck(npgsqlBatch, batch.InstanceId);

            // The outbox last: its lock is held from the insert to the commit, as short as it can be. Like the two
            // above, its statements have no expected count.
            _outbox?.AddTo(npgsqlBatch, batch.Events, batch.InstanceId);

            var transaction = await connection.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                if (npgsqlBatch.BatchCommands.Count > 0)
                {
                    npgsqlBatch.Transaction = transaction;
                    await npgsqlBatch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                    if (IsFenced(npgsqlBatch, fence))
                    {
                        await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                        throw await FencedAsync(connection, batch.InstanceId!.Value).ConfigureAwait(false);
                    }

                    for (var i = 0; i < expected.Count; i++)
                    {
                        if (expected[i] is { } problem && npgsqlBatch.BatchCommands[i].RecordsAffected == 0)
                        {
                            problems.Add(problem);
                        }
                    }

                    for (var i = 0; i < expectedCounts.Count; i++)
                    {
                        if (expectedCounts[i] >= 0 && npgsqlBatch.BatchCommands[i].RecordsAffected != expectedCounts[i])
                        {
                            problems.Add(new Problem(string.Empty, "a statement of the fast form stored fewer rows than it was given"));
                        }
                    }
                }

                if (problems.Count == 0)
                {
                    await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
        }

        return problems;
    }

    private void AddCarefulBuild(NpgsqlBatch npgsqlBatch, List<Problem?> expected, StoredBuild build)
    {
        var name = build.BuilderName;
        Add(npgsqlBatch, expected, null, _ensureBuilder, [Text(name), Int(build.Number)]);
        Add(npgsqlBatch, expected, null, _raiseLastNumber, [Text(name), Int(build.Number)]);

        Add(npgsqlBatch, expected, new Problem(build.Key, $"build {build.Key} could not be written"), _upsertBuild,
            [Text(name), Int(build.Number), Text(build.HostName), Text(build.Reason), Text(build.WorkerName), Time(build.StartedAt), Time(build.FinishedAt), Result(build.Result),
             Text(build.StateText), Json(Postgres.Internal.Json.Write(build.Changes)), Json(Postgres.Internal.Json.Write(build.ResponsibleUsers))]);

        // The careful form replaces the child rows unconditionally.
        Add(npgsqlBatch, expected, null, _deleteStamps, [Text(name), Int(build.Number)]);
        if (build.SourceStamps.Count > 0)
        {
            var p = new List<NpgsqlParameter> { Text(name), Int(build.Number) };
            AddStamps(p, build.SourceStamps);
            Add(npgsqlBatch, expected, null, _insertStamps, [.. p]);
        }

        Add(npgsqlBatch, expected, null, _deleteProperties, [Text(name), Int(build.Number)]);
        if (build.Properties.Count > 0)
        {
            var p = new List<NpgsqlParameter> { Text(name), Int(build.Number) };
            AddProperties(p, build.Properties);
            Add(npgsqlBatch, expected, null, _insertProperties, [.. p]);
        }
    }

    // The fast form of a batch: one statement per kind of row, each row's values in arrays (unnest), so a batch is a
    // dozen statements whatever its size. Each statement's expected row count is known; any shortfall (a missing
    // parent, a chunk that does not follow its stored lines, a stale cache) sends the batch to the careful form.
    // Returns false when the batch cannot take this form (a log's chunks in the batch are not contiguous).
    private bool AddMultiRow(NpgsqlBatch npgsqlBatch, List<int> expectedCounts, WriteBatch batch, (PostgresLogCompression Codec, byte[] Content)[] encoded)
    {
        if (!ChunksContiguousPerLog(batch.LogChunks))
        {
            return false;
        }

        void Add(string sql, int expected, params NpgsqlParameter[] parameters)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddRange(parameters);
            npgsqlBatch.BatchCommands.Add(command);
            expectedCounts.Add(expected);
        }

        if (batch.Builders.Count > 0)
        {
            var b = batch.Builders;
            Add(_multiBuilders, -1, TextArray([.. b.Select(x => x.Name)]), TextArray([.. b.Select(x => x.Description)]), JsonArray([.. b.Select(x => Postgres.Internal.Json.Write(x.Tags))]));
        }

        if (batch.Workers.Count > 0)
        {
            var w = batch.Workers;
            Add(
                _multiWorkers,
                -1,
                TextArray([.. w.Select(x => x.Name)]),
                TextArray([.. w.Select(x => x.Host)]),
                JsonArray([.. w.Select(x => Postgres.Internal.Json.Write(x.Info))]),
                BoolArray([.. w.Select(x => x.IsConnected)]),
                NullableLongArray([.. w.Select(x => PgTime.ToStored(x.LastSeen))]));
        }

        if (batch.Builds.Count > 0)
        {
            var builds = batch.Builds;
            var raise = builds.Where(x => !_lastNumbers.TryGetValue(x.BuilderName, out var known) || known < x.Number).ToList();
            if (raise.Count > 0)
            {
                Add(_multiEnsureBuilders, -1, TextArray([.. raise.Select(x => x.BuilderName)]), IntArray([.. raise.Select(x => x.Number)]));
                Add(_multiRaiseLastNumbers, -1, TextArray([.. raise.Select(x => x.BuilderName)]), IntArray([.. raise.Select(x => x.Number)]));
            }

            Add(
                _multiBuilds,
                builds.Count,
                TextArray([.. builds.Select(x => x.BuilderName)]),
                IntArray([.. builds.Select(x => x.Number)]),
                TextArray([.. builds.Select(x => x.HostName)]),
                TextArray([.. builds.Select(x => x.Reason)]),
                TextArray([.. builds.Select(x => x.WorkerName)]),
                LongArray([.. builds.Select(x => PgTime.ToStored(x.StartedAt))]),
                NullableLongArray([.. builds.Select(x => PgTime.ToStored(x.FinishedAt))]),
                NullableShortArray([.. builds.Select(x => (short?)x.Result)]),
                TextArray([.. builds.Select(x => x.StateText)]),
                JsonArray([.. builds.Select(x => Postgres.Internal.Json.Write(x.Changes))]),
                JsonArray([.. builds.Select(x => Postgres.Internal.Json.Write(x.ResponsibleUsers))]));

            var stampBuilds = new List<StoredBuild>();
            var propertyBuilds = new List<StoredBuild>();
            foreach (var build in builds)
            {
                _children.TryGetValue(build.Key, out var last);
                if (last.Stamps is null || !ReferenceEquals(last.Stamps, build.SourceStamps))
                {
                    stampBuilds.Add(build);
                }

                if (last.Properties is null || !ReferenceEquals(last.Properties, build.Properties))
                {
                    propertyBuilds.Add(build);
                }
            }

            if (stampBuilds.Count > 0)
            {
                Add(_multiDeleteStamps, -1, TextArray([.. stampBuilds.Select(x => x.BuilderName)]), IntArray([.. stampBuilds.Select(x => x.Number)]));
                var rows = stampBuilds.SelectMany(x => x.SourceStamps.Select((stamp, position) => (Build: x, Stamp: stamp, Position: position))).ToList();
                if (rows.Count > 0)
                {
                    Add(
                        _multiInsertStamps,
                        rows.Count,
                        TextArray([.. rows.Select(r => r.Build.BuilderName)]),
                        IntArray([.. rows.Select(r => r.Build.Number)]),
                        IntArray([.. rows.Select(r => r.Position)]),
                        TextArray([.. rows.Select(r => r.Stamp.Repository)]),
                        TextArray([.. rows.Select(r => r.Stamp.Branch)]),
                        TextArray([.. rows.Select(r => r.Stamp.Revision)]),
                        TextArray([.. rows.Select(r => r.Stamp.Project)]),
                        TextArray([.. rows.Select(r => r.Stamp.Codebase)]));
                }
            }

            if (propertyBuilds.Count > 0)
            {
                Add(_multiDeleteProperties, -1, TextArray([.. propertyBuilds.Select(x => x.BuilderName)]), IntArray([.. propertyBuilds.Select(x => x.Number)]));
                var rows = propertyBuilds.SelectMany(x => x.Properties.Select(p => (Build: x, Name: p.Key, Value: p.Value))).ToList();
                if (rows.Count > 0)
                {
                    Add(
                        _multiInsertProperties,
                        rows.Count,
                        TextArray([.. rows.Select(r => r.Build.BuilderName)]),
                        IntArray([.. rows.Select(r => r.Build.Number)]),
                        TextArray([.. rows.Select(r => r.Name)]),
                        TextArray([.. rows.Select(r => r.Value.Value)]),
                        TextArray([.. rows.Select(r => r.Value.Source)]));
                }
            }
        }

        if (batch.Steps.Count > 0)
        {
            var steps = batch.Steps;
            Add(
                _multiSteps,
                steps.Count,
                TextArray([.. steps.Select(x => x.Key.BuilderName)]),
                IntArray([.. steps.Select(x => x.Key.BuildNumber)]),
                IntArray([.. steps.Select(x => x.Key.StepNumber)]),
                TextArray([.. steps.Select(x => x.Name)]),
                TextArray([.. steps.Select(x => x.StateText)]),
                NullableLongArray([.. steps.Select(x => PgTime.ToStored(x.StartedAt))]),
                NullableLongArray([.. steps.Select(x => PgTime.ToStored(x.FinishedAt))]),
                NullableShortArray([.. steps.Select(x => (short?)x.Result)]),
                JsonArray([.. steps.Select(x => Postgres.Internal.Json.Write(x.Urls))]),
                JsonArray([.. steps.Select(x => Postgres.Internal.Json.Write(x.Statistics))]),
                BoolArray([.. steps.Select(x => x.IsHidden)]));
        }

        if (batch.Logs.Count > 0)
        {
            var logs = batch.Logs;
            Add(
                _multiLogs,
                logs.Count,
                TextArray([.. logs.Select(x => x.Key.BuilderName)]),
                IntArray([.. logs.Select(x => x.Key.BuildNumber)]),
                IntArray([.. logs.Select(x => x.Key.StepNumber)]),
                IntArray([.. logs.Select(x => x.Key.LogNumber)]),
                TextArray([.. logs.Select(x => x.Name)]),
                ShortArray([.. logs.Select(x => (short)x.Kind)]),
                BoolArray([.. logs.Select(x => x.IsFinished)]),
                LongArray([.. logs.Select(x => x.LineCount)]),
                LongArray([.. logs.Select(x => x.ByteCount)]));
        }

        if (batch.LogChunks.Count > 0)
        {
            var chunks = batch.LogChunks;
            Add(
                _multiChunks,
                chunks.Count,
                TextArray([.. chunks.Select(x => x.Log.BuilderName)]),
                IntArray([.. chunks.Select(x => x.Log.BuildNumber)]),
                IntArray([.. chunks.Select(x => x.Log.StepNumber)]),
                IntArray([.. chunks.Select(x => x.Log.LogNumber)]),
                LongArray([.. chunks.Select(x => x.FirstLine)]),
                LongArray([.. chunks.Select(x => x.LastLine)]),
                ShortArray([.. encoded.Select(x => (short)x.Codec)]),
                BytesArray([.. encoded.Select(x => x.Content)]));
        }

        return true;
    }

    // Whether every log's chunks in the batch follow each other without a gap (the batch's order is line order).
    private static bool ChunksContiguousPerLog(IReadOnlyList<StoredLogChunk> chunks)
    {
        if (chunks.Count < 2)
        {
            return true;
        }

        var next = new Dictionary<LogKey, long>();
        foreach (var chunk in chunks)
        {
            if (next.TryGetValue(chunk.Log, out var expected) && expected != chunk.FirstLine)
            {
                return false;
            }

            next[chunk.Log] = chunk.LastLine + 1;
        }

        return true;
    }

    // The parameters both build-creating statements start with ($1..), in this order.
    private static void AddCreateBuildParameters(NpgsqlParameterCollection p, StoredBuild build)
    {
        p.Add(Text(build.BuilderName));
        p.Add(Text(build.HostName));
        p.Add(Text(build.Reason));
        p.Add(Text(build.WorkerName));
        p.Add(Time(build.StartedAt));
        p.Add(Time(build.FinishedAt));
        p.Add(Result(build.Result));
        p.Add(Text(build.StateText));
        p.Add(Json(Postgres.Internal.Json.Write(build.Changes)));
        p.Add(Json(Postgres.Internal.Json.Write(build.ResponsibleUsers)));
        AddStamps(p, build.SourceStamps);
        AddProperties(p, build.Properties);
    }

    private static void AddStamps(IList<NpgsqlParameter> p, IReadOnlyList<SourceStamp> stamps)
    {
        var n = stamps.Count;
        string?[] repository = new string?[n], branch = new string?[n], revision = new string?[n], project = new string?[n], codebase = new string?[n];
        for (var i = 0; i < n; i++)
        {
            (repository[i], branch[i], revision[i], project[i], codebase[i]) = (stamps[i].Repository, stamps[i].Branch, stamps[i].Revision, stamps[i].Project, stamps[i].Codebase);
        }

        p.Add(TextArray(repository));
        p.Add(TextArray(branch));
        p.Add(TextArray(revision));
        p.Add(TextArray(project));
        p.Add(TextArray(codebase));
    }

    private static void AddProperties(IList<NpgsqlParameter> p, IReadOnlyDictionary<string, PropertyValue> properties)
    {
        var n = properties.Count;
        string?[] names = new string?[n], values = new string?[n], sources = new string?[n];
        var i = 0;
        foreach (var (name, value) in properties)
        {
            (names[i], values[i], sources[i]) = (name, value.Value, value.Source);
            i++;
        }

        p.Add(TextArray(names));
        p.Add(TextArray(values));
        p.Add(TextArray(sources));
    }

    // One statement per row (perRow parameters each), or one statement with every parameter when perRow is 0.
    private static void Add(NpgsqlBatch npgsqlBatch, List<Problem?> expected, Problem? problem, string sql, NpgsqlParameter[] parameters, int perRow = 0)
    {
        if (perRow == 0)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddRange(parameters);
            npgsqlBatch.BatchCommands.Add(command);
            expected.Add(problem);
            return;
        }

        for (var offset = 0; offset < parameters.Length; offset += perRow)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddRange(parameters[offset..(offset + perRow)]);
            npgsqlBatch.BatchCommands.Add(command);
            expected.Add(problem);
        }
    }

    // Reads the stored line count of every log the batch appends to, and decides chunk by chunk (in order) which are
    // already stored (skipped) and which cannot be stored (a gap, or a log with no row).
    private async Task<(bool[] Skip, List<Problem> Rejected)> CheckChunksAsync(NpgsqlConnection connection, WriteBatch batch)
    {
        var chunks = batch.LogChunks;
        var skip = new bool[chunks.Count];
        var rejected = new List<Problem>();
        if (chunks.Count == 0)
        {
            return (skip, rejected);
        }

        var logs = chunks.Select(c => c.Log).Distinct().ToArray();
        var running = new Dictionary<LogKey, long>();
        using (var command = new NpgsqlCommand(_storedLines, connection))
        {
            command.Parameters.Add(TextArray([.. logs.Select(l => l.BuilderName)]));
            command.Parameters.Add(IntArray([.. logs.Select(l => l.BuildNumber)]));
            command.Parameters.Add(IntArray([.. logs.Select(l => l.StepNumber)]));
            command.Parameters.Add(IntArray([.. logs.Select(l => l.LogNumber)]));
            var reader = await command.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                running[logs[(int)reader.GetInt64(0) - 1]] = reader.GetInt64(1);
            }
        }

        // A log that is not stored yet but comes in this batch starts empty.
        foreach (var log in batch.Logs)
        {
            running.TryAdd(log.Key, 0);
        }

        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            if (!running.TryGetValue(chunk.Log, out var next))
            {
                rejected.Add(new Problem(chunk.Log, $"the chunk of lines {chunk.FirstLine}-{chunk.LastLine} belongs to log {chunk.Log}, which has no row"));
                skip[i] = true;
            }
            else if (chunk.FirstLine < next)
            {
                skip[i] = true; // Already stored: the batch is being retried after an ambiguous failure.
            }
            else if (chunk.FirstLine > next)
            {
                rejected.Add(new Problem(chunk.Log, string.Create(CultureInfo.InvariantCulture, $"the chunk of log {chunk.Log} starts at line {chunk.FirstLine}, but the log has {next} lines stored; it would leave a gap")));
                skip[i] = true;
            }
            else
            {
                running[chunk.Log] = chunk.LastLine + 1;
            }
        }

        return (skip, rejected);
    }

    private void Remember(WriteBatch batch)
    {
        if (_children.Count > MaxCachedBuilds)
        {
            _children.Clear();
        }

        foreach (var build in batch.Builds)
        {
            RaiseKnownLastNumber(build.BuilderName, build.Number);
            _children[build.Key] = (build.SourceStamps, build.Properties);
        }
    }

    private void RaiseKnownLastNumber(string builderName, int number) =>
        _lastNumbers.AddOrUpdate(builderName, number, (_, known) => Math.Max(known, number));

    private static BatchRejectedException Reject(List<Problem> problems)
    {
        var text = new StringBuilder("The batch cannot be stored: ");
        text.AppendJoin("; ", problems.Select(p => p.What).Distinct(StringComparer.Ordinal)).Append(". Nothing in the batch was applied.");
        return new BatchRejectedException(text.ToString(), [.. problems.Select(p => p.Key).Distinct()]);
    }

    /// <summary>A row that could not be stored: its key and what was wrong.</summary>
    private sealed record Problem(object Key, string What);
}
