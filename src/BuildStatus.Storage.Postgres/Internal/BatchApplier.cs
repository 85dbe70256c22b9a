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
/// together. A child is written with <c>INSERT ... SELECT</c> from its parent, so a missing parent shows as a
/// statement that affected no row instead of an error that would abort the transaction; a chunk is appended only
/// when its first line is the log's <c>stored_lines</c>. When every statement affected its row the transaction
/// commits. Otherwise it is rolled back and the batch is run again carefully: the stored line counts of the batch's
/// logs are read first, chunks already stored (a retry after an ambiguous commit) are left out, and any row that
/// still cannot be stored is named in a <see cref="BatchRejectedException"/> with nothing applied.
/// </para>
/// <para>
/// Threading: <see cref="ApplyAsync"/> is called by one caller at a time (the store's writer lock);
/// <see cref="CreateBuildAsync"/> from any thread at once. The caches below are concurrent dictionaries, written only
/// after a commit and cleared after any failure, so a stale entry can cost at most a careful re-run.
/// </para>
/// </remarks>
internal sealed class BatchApplier
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

    // The highest number known to be in each builder's last_number (committed): a build numbered at or below it
    // needs no builder statement. last_number only grows, so an entry can be low but never wrong.
    private readonly ConcurrentDictionary<string, int> _lastNumbers = new(StringComparer.Ordinal);

    // The stamp and property lists last committed for a build, compared by reference: Core reuses a build's lists
    // while they do not change, so most build updates leave its child rows alone.
    private readonly ConcurrentDictionary<BuildKey, (object Stamps, object Properties)> _children = new();

    public BatchApplier(string schema)
    {
        var s = "\"" + schema + "\"";
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
    }

    /// <summary>Allocates the next number of the build's builder and inserts the build with it, in one statement.</summary>
    public async Task<int> CreateBuildAsync(NpgsqlConnection connection, StoredBuild build)
    {
        using var command = new NpgsqlCommand(_createBuild, connection);
        var p = command.Parameters;
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
            Add(npgsqlBatch, expected, null, _upsertBuilder, [.. batch.Builders.SelectMany<StoredBuilder, NpgsqlParameter>(b => [Text(b.Name), Text(b.Description), Json(Postgres.Internal.Json.Write(b.Tags))])], perRow: 3);
            Add(npgsqlBatch, expected, null, _upsertWorker, [.. batch.Workers.SelectMany<StoredWorker, NpgsqlParameter>(w => [Text(w.Name), Text(w.Host), Json(Postgres.Internal.Json.Write(w.Info)), Bool(w.IsConnected), Time(w.LastSeen)])], perRow: 5);
            foreach (var build in batch.Builds)
            {
                AddBuild(npgsqlBatch, expected, build, useCaches);
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

            var transaction = await connection.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                if (npgsqlBatch.BatchCommands.Count > 0)
                {
                    npgsqlBatch.Transaction = transaction;
                    await npgsqlBatch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                    for (var i = 0; i < expected.Count; i++)
                    {
                        if (expected[i] is { } problem && npgsqlBatch.BatchCommands[i].RecordsAffected == 0)
                        {
                            problems.Add(problem);
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

    private void AddBuild(NpgsqlBatch npgsqlBatch, List<Problem?> expected, StoredBuild build, bool useCaches)
    {
        var name = build.BuilderName;
        if (!useCaches || !_lastNumbers.TryGetValue(name, out var known) || known < build.Number)
        {
            Add(npgsqlBatch, expected, null, _ensureBuilder, [Text(name), Int(build.Number)]);
            Add(npgsqlBatch, expected, null, _raiseLastNumber, [Text(name), Int(build.Number)]);
        }

        Add(npgsqlBatch, expected, new Problem(build.Key, $"build {build.Key} could not be written"), _upsertBuild,
            [Text(name), Int(build.Number), Text(build.HostName), Text(build.Reason), Text(build.WorkerName), Time(build.StartedAt), Time(build.FinishedAt), Result(build.Result),
             Text(build.StateText), Json(Postgres.Internal.Json.Write(build.Changes)), Json(Postgres.Internal.Json.Write(build.ResponsibleUsers))]);

        _children.TryGetValue(build.Key, out var last);
        var cached = useCaches && last.Stamps is not null;
        if (!cached || !ReferenceEquals(last.Stamps, build.SourceStamps))
        {
            Add(npgsqlBatch, expected, null, _deleteStamps, [Text(name), Int(build.Number)]);
            if (build.SourceStamps.Count > 0)
            {
                var p = new List<NpgsqlParameter> { Text(name), Int(build.Number) };
                AddStamps(p, build.SourceStamps);
                Add(npgsqlBatch, expected, null, _insertStamps, [.. p]);
            }
        }

        if (!cached || !ReferenceEquals(last.Properties, build.Properties))
        {
            Add(npgsqlBatch, expected, null, _deleteProperties, [Text(name), Int(build.Number)]);
            if (build.Properties.Count > 0)
            {
                var p = new List<NpgsqlParameter> { Text(name), Int(build.Number) };
                AddProperties(p, build.Properties);
                Add(npgsqlBatch, expected, null, _insertProperties, [.. p]);
            }
        }
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
