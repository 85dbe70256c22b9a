using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Threading.Channels;
using BuildStatus.Storage.Sqlite;
using BuildStatus.Storage.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Bench;

/// <summary>
/// The raw-SQLite baseline: the same rows as W1 (builders, builds, steps, logs and log chunks, with the same chunk
/// encoding and codec) written to a fresh file with the library's own schema, by the fastest hand-written
/// Microsoft.Data.Sqlite code we could write: prepared commands, one transaction per ~8 MiB of log text (the
/// library's MaxBatchBytes), the same journal mode and pragmas, and encoding/compression on a second thread so that
/// both cores work, as they do in the library (host thread + writer thread).
/// </summary>
internal static class RawSqliteBaseline
{
    public const string SchemaDescription = "the library's schema (every migration, created by SqliteBuildStore.InitializeAsync), same indexes and foreign keys";

    private const int BuildsPerTransaction = 100; // 100 builds x 80,000 bytes of log text = 8 MB, the library's default MaxBatchBytes

    private sealed record Chunk(int Step, long First, long Last, int Count, LogCompression Codec, byte[] Content);

    private sealed record Row(int Index, int Builder, int Number, DateTimeOffset Started, DateTimeOffset Finished, List<Chunk> Chunks);

    public static async Task<BaselineResult> RunAsync(WorkloadOptions options, int linesPerChunk, CancellationToken cancellationToken)
    {
        linesPerChunk = Math.Clamp(linesPerChunk, 1, WorkloadText.LinesPerLog);
        var path = Path.Combine(Path.GetTempPath(), $"buildstatus-baseline-{Guid.NewGuid():N}.db");
        var sqliteOptions = new SqliteStorageOptions
        {
            ConnectionString = $"Data Source={path}",
            Synchronous = options.Synchronous,
            Compression = options.Compression,
        };
        try
        {
            // Schema (and auto_vacuum, journal_mode = WAL) exactly as the library creates it; not timed.
            await using (var store = new SqliteBuildStore(sqliteOptions))
            {
                await store.InitializeAsync(cancellationToken);
            }

            SqliteConnection.ClearAllPools();
            var seconds = Write(path, sqliteOptions, options.Builds, linesPerChunk, cancellationToken);
            return new BaselineResult
            {
                Write = WritePhaseResult.From(seconds, options.Builds),
                DatabaseBytes = Workload.DatabaseBytes(path),
                LinesPerChunk = linesPerChunk,
                BuildsPerTransaction = BuildsPerTransaction,
                Schema = SchemaDescription,
            };
        }
        finally
        {
            Workload.DeleteDatabase(path);
        }
    }

    private static double Write(string path, SqliteStorageOptions options, int builds, int linesPerChunk, CancellationToken cancellationToken)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            ForeignKeys = true,
            Pooling = false,
        }.ToString());
        connection.Open();
        Execute(connection, $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {options.Synchronous.ToString().ToUpperInvariant()}; PRAGMA cache_size = -{options.CacheSizeKiB}; PRAGMA mmap_size = {options.MmapSizeBytes};");

        using var insertBuilder = Prepare(connection, "INSERT INTO builders (name, description, tags, last_number) VALUES ($name, NULL, '[]', $last) RETURNING id", "$name", "$last");
        using var insertBuild = Prepare(
            connection,
            "INSERT INTO builds (builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text) "
            + "VALUES ($builder, $number, 'bench', NULL, NULL, $started, $finished, $result, $state) RETURNING id",
            "$builder",
            "$number",
            "$started",
            "$finished",
            "$result",
            "$state");
        using var insertStep = Prepare(
            connection,
            "INSERT INTO steps (build_id, number, name, state_text, started_at, finished_at, result, is_hidden) "
            + "VALUES ($build, $number, $name, '', $started, $finished, $result, 0) RETURNING id",
            "$build",
            "$number",
            "$name",
            "$started",
            "$finished",
            "$result");
        using var insertLog = Prepare(
            connection,
            "INSERT INTO logs (step_id, build_id, number, name, kind, is_finished, line_count, byte_count) "
            + "VALUES ($step, $build, 0, 'stdio', 0, 1, $lines, $bytes) RETURNING id",
            "$step",
            "$build",
            "$lines",
            "$bytes");
        using var insertChunk = Prepare(
            connection,
            "INSERT INTO log_chunks (log_id, first_line, last_line, line_count, codec, content) VALUES ($log, $first, $last, $count, $codec, $content)",
            "$log",
            "$first",
            "$last",
            "$count",
            "$codec",
            "$content");
        SqliteCommand[] commands = [insertBuilder, insertBuild, insertStep, insertLog, insertChunk];

        var channel = Channel.CreateBounded<Row>(new BoundedChannelOptions(2 * BuildsPerTransaction) { SingleReader = true, SingleWriter = true });
        var stopwatch = Stopwatch.StartNew();
        var producer = Task.Run(() => Produce(channel.Writer, builds, linesPerChunk, options.Compression, cancellationToken), cancellationToken);

        var builderIds = new long[WorkloadText.BuilderCount];
        var transaction = Begin(connection, commands);
        for (var b = 0; b < builderIds.Length; b++)
        {
            builderIds[b] = Scalar(insertBuilder, WorkloadText.BuilderName(b), (long)Workload.CountOf(builds, WorkloadText.BuilderName(b)));
        }

        var inTransaction = 0;
        var reader = channel.Reader;
        while (reader.WaitToReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out var row))
            {
                var started = row.Started.ToUnixTimeMilliseconds();
                var finished = row.Finished.ToUnixTimeMilliseconds();
                var result = WorkloadText.BuildResultOf(row.Index);
                var buildId = Scalar(insertBuild, builderIds[row.Builder], (long)row.Number, started, finished, (long)result, result.ToString().ToLowerInvariant());
                var logIds = new long[WorkloadText.StepsPerBuild];
                for (var s = 0; s < WorkloadText.StepsPerBuild; s++)
                {
                    var stepId = Scalar(insertStep, buildId, (long)s, WorkloadText.StepName(s), started, finished, (long)WorkloadText.StepResult(row.Index, s));
                    logIds[s] = Scalar(insertLog, stepId, buildId, (long)WorkloadText.LinesPerLog, (long)WorkloadText.LinesPerLog * WorkloadText.LineLength);
                }

                foreach (var chunk in row.Chunks)
                {
                    Execute(insertChunk, logIds[chunk.Step], chunk.First, chunk.Last, (long)chunk.Count, (long)chunk.Codec, chunk.Content);
                }

                if (++inTransaction == BuildsPerTransaction)
                {
                    transaction.Commit();
                    transaction.Dispose();
                    transaction = Begin(connection, commands);
                    inTransaction = 0;
                }
            }
        }

        transaction.Commit();
        transaction.Dispose();
        producer.GetAwaiter().GetResult();
        stopwatch.Stop();
        return stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task Produce(ChannelWriter<Row> writer, int builds, int linesPerChunk, LogCompression compression, CancellationToken cancellationToken)
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
                    chunks.Add(new Chunk(s, first, end - 1, count, used, content));
                }
            }

            await writer.WriteAsync(new Row(i, builder, ++counters[builder], started, DateTimeOffset.UtcNow, chunks), cancellationToken);
        }

        writer.Complete();
    }

    private static SqliteTransaction Begin(SqliteConnection connection, SqliteCommand[] commands)
    {
        var transaction = connection.BeginTransaction(deferred: false);
        foreach (var command in commands)
        {
            command.Transaction = transaction;
        }

        return transaction;
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter(name, DBNull.Value));
        }

        command.Prepare();
        return command;
    }

    private static void Bind(SqliteCommand command, object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }

    private static long Scalar(SqliteCommand command, params object[] values)
    {
        Bind(command, values);
        return (long)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteCommand command, params object[] values)
    {
        Bind(command, values);
        command.ExecuteNonQuery();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
