using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Threading.Channels;
using BuildStatus.Storage.Postgres;
using BuildStatus.Storage.Postgres.Internal;
using Npgsql;
using NpgsqlTypes;

namespace BuildStatus.Bench;

/// <summary>
/// The raw-Npgsql baseline: the same rows as W1 (builders, builds, steps, logs and log chunks, with the same chunk
/// encoding and codec) written into a fresh schema with the library's own tables, by hand-written bulk Npgsql code:
/// one transaction per 100 builds (~8 MB of log text, the library's MaxBatchBytes), the builds inserted from arrays in
/// one statement, their steps and logs in one pipelined batch, the chunks by binary COPY, and encoding/compression on a
/// second thread so both cores work, as they do in the library (host thread + writer thread).
/// With <c>durableStarts</c> it keeps the library's promise about build starts as well: each build's row is inserted
/// and committed on its own, with its number allocated by the database (the builder's row locked and bumped in the
/// same statement), before that build's logs are produced, on a second connection while the first writes the previous
/// groups; the group transaction then finishes the builds instead of inserting them.
/// </summary>
internal static class RawNpgsqlBaseline
{
    public const string SchemaDescription = "the library's schema (0001_initial.sql, created by PostgresBuildStore.InitializeAsync), same indexes and foreign keys";

    private const int BuildsPerTransaction = 100;

    private sealed record Chunk(int Step, long First, long Last, PostgresLogCompression Codec, byte[] Content);

    // BuildId is the row the build's durable start inserted, or 0 when the group transaction inserts the build.
    private sealed record Row(int Index, int Builder, int Number, DateTimeOffset Started, DateTimeOffset Finished, List<Chunk> Chunks, long BuildId);

    public static async Task<BaselineResult> RunAsync(WorkloadOptions options, int linesPerChunk, CancellationToken cancellationToken, bool durableStarts = false)
    {
        linesPerChunk = Math.Clamp(linesPerChunk, 1, WorkloadText.LinesPerLog);
        var schema = PostgresBench.NewSchema("baseline");
        try
        {
            // Schema exactly as the library creates it; not timed.
            await using (var store = PostgresBench.CreateStore(options, schema))
            {
                await store.InitializeAsync(cancellationToken);
            }

            var seconds = await WriteAsync(options.PostgresConnectionString!, schema, options.Builds, linesPerChunk, PostgresBench.Codec(options), durableStarts, cancellationToken);
            await CheckAsync(options.PostgresConnectionString!, schema, options.Builds, cancellationToken);
            return new BaselineResult
            {
                Write = WritePhaseResult.From(seconds, options.Builds),
                DatabaseBytes = await PostgresBench.SchemaBytesAsync(options.PostgresConnectionString!, schema),
                LinesPerChunk = linesPerChunk,
                BuildsPerTransaction = BuildsPerTransaction,
                DurableStarts = durableStarts,
                Schema = SchemaDescription,
            };
        }
        finally
        {
            await PostgresBench.DropSchemaAsync(options.PostgresConnectionString!, schema);
        }
    }

    private static async Task<double> WriteAsync(string connectionString, string schema, int builds, int linesPerChunk, PostgresLogCompression compression, bool durableStarts, CancellationToken cancellationToken)
    {
        var s = "\"" + schema + "\"";
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var startConnection = durableStarts ? new NpgsqlConnection(connectionString) : null;
        if (startConnection is not null)
        {
            await startConnection.OpenAsync(cancellationToken);
        }

        var channel = Channel.CreateBounded<Row>(new BoundedChannelOptions(2 * BuildsPerTransaction) { SingleReader = true, SingleWriter = true });
        var stopwatch = Stopwatch.StartNew();
        var builderIds = new long[WorkloadText.BuilderCount];
        await using (var insertBuilders = new NpgsqlCommand(
            $"INSERT INTO {s}.builders (name, last_number) SELECT u.name, u.last FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS u (name, last, ord) ORDER BY u.ord RETURNING id",
            connection))
        {
            insertBuilders.Parameters.Add(new NpgsqlParameter { Value = Enumerable.Range(0, WorkloadText.BuilderCount).Select(WorkloadText.BuilderName).ToArray() });
            // With durable starts the database hands out the numbers, from 1.
            insertBuilders.Parameters.Add(new NpgsqlParameter { Value = Enumerable.Range(0, WorkloadText.BuilderCount).Select(b => durableStarts ? 0 : Workload.CountOf(builds, WorkloadText.BuilderName(b))).ToArray() });
            await using var reader = await insertBuilders.ExecuteReaderAsync(cancellationToken);
            for (var b = 0; await reader.ReadAsync(cancellationToken); b++)
            {
                builderIds[b] = reader.GetInt64(0);
            }
        }

        // Started once the builders exist: a durable start needs its builder's row.
        var start = startConnection is null ? null : StartBuild(startConnection, s, builderIds);
        var producer = Task.Run(() => Produce(channel.Writer, builds, linesPerChunk, compression, start, cancellationToken), cancellationToken);

        var group = new List<Row>(BuildsPerTransaction);
        while (await channel.Reader.WaitToReadAsync(cancellationToken))
        {
            while (channel.Reader.TryRead(out var row))
            {
                group.Add(row);
                if (group.Count == BuildsPerTransaction)
                {
                    await WriteGroupAsync(connection, s, builderIds, group, cancellationToken);
                    group.Clear();
                }
            }
        }

        if (group.Count > 0)
        {
            await WriteGroupAsync(connection, s, builderIds, group, cancellationToken);
        }

        await producer;
        stopwatch.Stop();
        return stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task WriteGroupAsync(NpgsqlConnection connection, string s, long[] builderIds, List<Row> group, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // 1. The builds, from arrays, returning their ids (or, when each build's start already inserted its row,
        // finishing them).
        var buildIds = new long[group.Count];
        if (group[0].BuildId != 0)
        {
            for (var i = 0; i < group.Count; i++)
            {
                buildIds[i] = group[i].BuildId;
            }

            await using var finishBuilds = new NpgsqlCommand(
                $"UPDATE {s}.builds b SET finished_at = u.finished, result = u.result, state_text = u.state "
                + "FROM unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[]) AS u (id, finished, result, state) WHERE b.id = u.id",
                connection,
                transaction);
            finishBuilds.Parameters.Add(new NpgsqlParameter { Value = buildIds });
            finishBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => r.Finished.ToUnixTimeMilliseconds() * 1000).ToArray() });
            finishBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => (short)WorkloadText.BuildResultOf(r.Index)).ToArray() });
            finishBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => WorkloadText.BuildResultOf(r.Index).ToString().ToLowerInvariant()).ToArray() });
            await finishBuilds.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            await using (var insertBuilds = new NpgsqlCommand(
                $"INSERT INTO {s}.builds (builder_id, number, host_name, started_at, finished_at, result, state_text) "
                + "SELECT u.builder, u.number, 'bench', u.started, u.finished, u.result, u.state FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::smallint[], $6::text[]) "
                + "WITH ORDINALITY AS u (builder, number, started, finished, result, state, ord) ORDER BY u.ord RETURNING id",
                connection,
                transaction))
            {
                insertBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => builderIds[r.Builder]).ToArray() });
                insertBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => r.Number).ToArray() });
                insertBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => r.Started.ToUnixTimeMilliseconds() * 1000).ToArray() });
                insertBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => r.Finished.ToUnixTimeMilliseconds() * 1000).ToArray() });
                insertBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => (short)WorkloadText.BuildResultOf(r.Index)).ToArray() });
                insertBuilds.Parameters.Add(new NpgsqlParameter { Value = group.Select(r => WorkloadText.BuildResultOf(r.Index).ToString().ToLowerInvariant()).ToArray() });
                await using var reader = await insertBuilds.ExecuteReaderAsync(cancellationToken);
                for (var i = 0; await reader.ReadAsync(cancellationToken); i++)
                {
                    buildIds[i] = reader.GetInt64(0);
                }
    }
        }

        // 2. Steps and logs in one pipelined batch; the logs' ids come back in (build, step) order.
        var steps = WorkloadText.StepsPerBuild;
        var stepBuild = new long[group.Count * steps];
        var stepNumber = new int[stepBuild.Length];
        var stepName = new string[stepBuild.Length];
        var stepStarted = new long[stepBuild.Length];
        var stepResult = new short[stepBuild.Length];
        for (var i = 0; i < group.Count; i++)
        {
            for (var t = 0; t < steps; t++)
            {
                var k = i * steps + t;
                (stepBuild[k], stepNumber[k], stepName[k], stepStarted[k], stepResult[k]) =
                    (buildIds[i], t, WorkloadText.StepName(t), group[i].Started.ToUnixTimeMilliseconds() * 1000, (short)WorkloadText.StepResult(group[i].Index, t));
            }
        }

        var logIds = new long[stepBuild.Length];
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            var insertSteps = new NpgsqlBatchCommand(
                $"INSERT INTO {s}.steps (build_id, number, name, state_text, started_at, finished_at, result, is_hidden) "
                + "SELECT u.b, u.n, u.name, '', u.t, u.t, u.r, false FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], $5::smallint[]) AS u (b, n, name, t, r)");
            insertSteps.Parameters.Add(new NpgsqlParameter { Value = stepBuild });
            insertSteps.Parameters.Add(new NpgsqlParameter { Value = stepNumber });
            insertSteps.Parameters.Add(new NpgsqlParameter { Value = stepName });
            insertSteps.Parameters.Add(new NpgsqlParameter { Value = stepStarted });
            insertSteps.Parameters.Add(new NpgsqlParameter { Value = stepResult });
            var insertLogs = new NpgsqlBatchCommand(
                $"INSERT INTO {s}.logs (build_id, step_number, number, name, kind, is_finished, line_count, byte_count, stored_lines) "
                + $"SELECT u.b, u.n, 0, 'stdio', 0, true, {WorkloadText.LinesPerLog}, {WorkloadText.LinesPerLog * WorkloadText.LineLength}, {WorkloadText.LinesPerLog} "
                + "FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS u (b, n, ord) ORDER BY u.ord RETURNING id");
            insertLogs.Parameters.Add(new NpgsqlParameter { Value = stepBuild });
            insertLogs.Parameters.Add(new NpgsqlParameter { Value = stepNumber });
            batch.BatchCommands.Add(insertSteps);
            batch.BatchCommands.Add(insertLogs);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            var k = 0;
            do
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    logIds[k++] = reader.GetInt64(0);
                }
            }
            while (await reader.NextResultAsync(cancellationToken));
        }

        // 3. The chunks by binary COPY.
        await using (var copy = await connection.BeginBinaryImportAsync($"COPY {s}.log_chunks (log_id, first_line, last_line, codec, content) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            for (var i = 0; i < group.Count; i++)
            {
                foreach (var chunk in group[i].Chunks)
                {
                    await copy.StartRowAsync(cancellationToken);
                    await copy.WriteAsync(logIds[i * steps + chunk.Step], NpgsqlDbType.Bigint, cancellationToken);
                    await copy.WriteAsync(chunk.First, NpgsqlDbType.Bigint, cancellationToken);
                    await copy.WriteAsync(chunk.Last, NpgsqlDbType.Bigint, cancellationToken);
                    await copy.WriteAsync((short)chunk.Codec, NpgsqlDbType.Smallint, cancellationToken);
                    await copy.WriteAsync(chunk.Content, NpgsqlDbType.Bytea, cancellationToken);
                }
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    // Not timed: every build is stored finished, with its five steps and logs, numbered 1..n per builder.
    private static async Task CheckAsync(string connectionString, string schema, int builds, CancellationToken cancellationToken)
    {
        var s = "\"" + schema + "\"";
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT (SELECT count(*) FROM {s}.builds WHERE finished_at IS NOT NULL), (SELECT count(*) FROM {s}.logs), "
            + $"(SELECT count(*) FROM (SELECT builder_id FROM {s}.builds GROUP BY builder_id HAVING min(number) = 1 AND max(number) = count(*) AND count(DISTINCT number) = count(*)) g), "
            + $"(SELECT count(DISTINCT builder_id) FROM {s}.builds)",
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var (finished, logs, wellNumbered, builders) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        if (finished != builds || logs != (long)builds * WorkloadText.StepsPerBuild || wellNumbered != builders)
        {
            throw new InvalidOperationException($"The raw Npgsql baseline stored {finished} finished builds of {builds}, {logs} logs, and {wellNumbered} of {builders} builders numbered 1..n.");
        }
    }

    // One build's durable start: the builder's row hands out the next number under its row lock and the build is
    // inserted in the same statement, committed on its own (autocommit) before the build goes on. Returns the row id.
    private static Func<int, DateTimeOffset, CancellationToken, Task<(int Number, long Id)>> StartBuild(NpgsqlConnection connection, string s, long[] builderIds)
    {
        var command = new NpgsqlCommand(
            $"WITH r AS (UPDATE {s}.builders SET last_number = last_number + 1 WHERE id = $1 RETURNING id, last_number) "
            + $"INSERT INTO {s}.builds (builder_id, number, host_name, started_at, state_text) SELECT r.id, r.last_number, 'bench', $2, 'building' FROM r RETURNING number, id",
            connection);
        command.Parameters.Add(new NpgsqlParameter<long>());
        command.Parameters.Add(new NpgsqlParameter<long>());
        return async (builder, started, cancellationToken) =>
        {
            ((NpgsqlParameter<long>)command.Parameters[0]).TypedValue = builderIds[builder];
            ((NpgsqlParameter<long>)command.Parameters[1]).TypedValue = started.ToUnixTimeMilliseconds() * 1000;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return (reader.GetInt32(0), reader.GetInt64(1));
        };
    }

    private static async Task Produce(ChannelWriter<Row> writer, int builds, int linesPerChunk, PostgresLogCompression compression, Func<int, DateTimeOffset, CancellationToken, Task<(int Number, long Id)>>? start, CancellationToken cancellationToken)
    {
        var codec = new LogChunkCodec(compression, CompressionLevel.Fastest);
        var counters = new int[WorkloadText.BuilderCount];

        // A chunk's lines in the form the library's Log hands to the store: UTF-8 text with '\n' after each line and
        // one channel byte per line (all Stdout, which is 0). The buffers are reused; the codec copies what it keeps.
        const int LineChars = WorkloadText.LineLength + 1;
        var chars = new char[linesPerChunk * LineChars];
        var text = new byte[Encoding.UTF8.GetMaxByteCount(chars.Length)];
        var channels = new byte[linesPerChunk];
        for (var i = 0; i < builds; i++)
        {
            var builder = WorkloadText.BuilderOf(i);
            var started = DateTimeOffset.UtcNow;
            var (number, buildId) = start is null ? (++counters[builder], 0L) : await start(builder, started, cancellationToken);
            var chunks = new List<Chunk>();
            for (var s = 0; s < WorkloadText.StepsPerBuild; s++)
            {
                for (var first = 0; first < WorkloadText.LinesPerLog; first += linesPerChunk)
                {
                    var end = Math.Min(first + linesPerChunk, WorkloadText.LinesPerLog);
                    var count = end - first;
                    for (var j = 0; j < count; j++)
                    {
                        var line = chars.AsSpan(j * LineChars, LineChars);
                        WorkloadText.WriteLine(line, i, s, first + j);
                        line[^1] = '\n';
                    }

                    var length = Encoding.UTF8.GetBytes(chars.AsSpan(0, count * LineChars), text);
                    var (used, content) = codec.Encode(text.AsSpan(0, length), channels.AsSpan(0, count));
                    chunks.Add(new Chunk(s, first, end - 1, used, content));
                }
            }

            await writer.WriteAsync(new Row(i, builder, number, started, DateTimeOffset.UtcNow, chunks, buildId), cancellationToken);
        }

        writer.Complete();
    }
}
