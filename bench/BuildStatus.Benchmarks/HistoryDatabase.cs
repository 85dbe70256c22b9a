using System.Diagnostics;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;

namespace BuildStatus.Benchmarks;

/// <summary>
/// A SQLite history of many finished builds (10 builders, one source stamp and one property each), written once
/// through the SPI (<see cref="IBuildStore.ApplyAsync"/>, 10,000 builds per batch) and cached in the temp directory,
/// keyed by size, for later runs.
/// </summary>
internal static class HistoryDatabase
{
    public const int Builders = 10;

    public static string PathFor(int builds) => Path.Combine(Path.GetTempPath(), $"buildstatus-bench-history-{builds}.db");

    public static async Task<string> EnsureAsync(int builds, TextWriter? progress = null)
    {
        var path = PathFor(builds);
        var done = path + ".complete";
        if (File.Exists(path) && File.Exists(done))
        {
            return path;
        }

        foreach (var f in new[] { path, path + "-wal", path + "-shm", done })
        {
            File.Delete(f);
        }

        progress?.WriteLine($"// building {path} ({builds:N0} builds) once; later runs reuse it");
        var stopwatch = Stopwatch.StartNew();
        await using (var store = new SqliteBuildStore(new SqliteStorageOptions { ConnectionString = $"Data Source={path}", Synchronous = SqliteSynchronous.Off }))
        {
            await store.InitializeAsync();
            foreach (var batch in Batches(builds))
            {
                await store.ApplyAsync(batch);
            }
        }

        File.WriteAllText(done, $"{builds} builds, written in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        progress?.WriteLine($"// built in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        return path;
    }

    /// <summary>
    /// The same history in a PostgreSQL schema of its own (<c>bench_history_N</c>) on the server
    /// <paramref name="connectionString"/> names, written once through the SPI and reused while it holds every build.
    /// </summary>
    /// <returns>The schema name.</returns>
    public static async Task<string> EnsurePostgresAsync(string connectionString, int builds, TextWriter? progress = null)
    {
        var schema = $"bench_history_{builds}";
        await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand($"SELECT CASE WHEN to_regclass('{schema}.builds') IS NULL THEN -1 ELSE 0 END", connection);
            if ((int)(await command.ExecuteScalarAsync())! == 0)
            {
                command.CommandText = $"SELECT count(*) FROM {schema}.builds";
                if ((long)(await command.ExecuteScalarAsync())! == builds)
                {
                    return schema;
                }
            }

            command.CommandText = $"DROP SCHEMA IF EXISTS {schema} CASCADE";
            await command.ExecuteNonQueryAsync();
        }

        progress?.WriteLine($"// building schema {schema} ({builds:N0} builds) once; later runs reuse it");
        var stopwatch = Stopwatch.StartNew();
        await using (var store = new BuildStatus.Storage.Postgres.PostgresBuildStore(new BuildStatus.Storage.Postgres.PostgresStorageOptions { ConnectionString = connectionString, Schema = schema }))
        {
            foreach (var batch in Batches(builds))
            {
                await store.ApplyAsync(batch);
            }
        }

        progress?.WriteLine($"// built in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        return schema;
    }

    /// <summary>The history's batches: the builders, then 10,000 finished builds per batch.</summary>
    private static IEnumerable<WriteBatch> Batches(int builds)
    {
        var builders = Enumerable.Range(0, Builders).Select(b => new StoredBuilder(BuilderName(b), null, [])).ToArray();
        yield return new WriteBatch { Builders = builders };
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        const int perBatch = 10_000;
        for (var first = 0; first < builds; first += perBatch)
        {
            var rows = new List<StoredBuild>(perBatch);
            for (var i = first; i < Math.Min(builds, first + perBatch); i++)
            {
                var number = i / Builders + 1;
                var started = start.AddSeconds(i * 30);
                var result = (i % 17) switch { 0 => BuildResult.Failure, 1 => BuildResult.Warnings, _ => BuildResult.Success };
                rows.Add(new StoredBuild(
                    BuilderName(i % Builders),
                    number,
                    "bench",
                    "scheduler",
                    [new SourceStamp("https://example.org/repo.git", "main", $"{i:x12}", null, null)],
                    [],
                    [],
                    "worker-1",
                    new Dictionary<string, PropertyValue> { ["buildername"] = new(BuilderName(i % Builders), "Builder") },
                    started,
                    started.AddSeconds(25),
                    result.ToString().ToLowerInvariant(),
                    result));
            }

            yield return new WriteBatch { Builds = rows };
        }
    }

    public static string BuilderName(int b) => $"builder-{b:D2}";
}
