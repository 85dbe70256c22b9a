using System.Diagnostics;
using System.Globalization;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;

namespace BuildStatus.Benchmarks;

/// <summary>
/// A SQLite history of many builds, written once through the SPI (<see cref="IBuildStore.ApplyAsync"/>, 10,000 builds
/// per batch) and cached in the temp directory, keyed by size and by <see cref="Layout"/>, for later runs.
/// </summary>
/// <remarks>
/// The data follows the storage issue's distribution, from a fixed seed (the same file every time):
/// <list type="bullet">
/// <item>10 builders, round-robin (build <c>i</c> is number <c>i / 10 + 1</c> of builder <c>i % 10</c>), 30 s apart;</item>
/// <item>one source stamp per build: branch <c>main</c> 80 %, <c>feature-000</c> 1 %, and the other 19 % over
/// <c>feature-001</c>..<c>feature-499</c> with weight 1/k (about 2.8 % for feature-001 down to 0.006 % for
/// feature-499: mostly rare); a unique 40-hex-digit revision per build;</item>
/// <item>property <c>owner</c> on every build (<c>owner-00</c>..<c>owner-49</c>, uniform), property <c>pr</c> on 5 %
/// of builds (values 1..10,000, so about 5 builds per pull request);</item>
/// <item>results by <c>i % 17</c>: Failure and Warnings 1/17 each, Success otherwise; 0.05 % of the builds unfinished
/// (host <c>elsewhere</c>, so the benchmark host's recovery leaves them alone).</item>
/// </list>
/// </remarks>
internal static class HistoryDatabase
{
    public const int Builders = 10;

    public const int FeatureBranches = 500;

    public const int PullRequests = 10_000;

    public const int Owners = 50;

    /// <summary>The version of the data layout above; part of the cached file's name.</summary>
    private const string Layout = "v2";

    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static string PathFor(int builds) => Path.Combine(Path.GetTempPath(), $"buildstatus-bench-history-{Layout}-{builds}.db");

    public static DateTimeOffset StartedAt(int index) => Start.AddSeconds(index * 30L);

    public static string Revision(int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{Mix((ulong)index):x16}{Mix((ulong)index + 0x9E3779B9UL):x16}{index:x8}");

    public static string BranchName(int feature) => string.Create(CultureInfo.InvariantCulture, $"feature-{feature:D3}");

    public static string BuilderName(int b) => $"builder-{b:D2}";

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

    // SplitMix64's finalizer: a fixed, well-spread 64-bit value per build, so revisions look like hashes.
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>
    /// The same history in a PostgreSQL schema of its own (<c>bench_history_N</c>) on the server
    /// <paramref name="connectionString"/> names, written once through the SPI and reused while it holds every build.
    /// </summary>
    /// <returns>The schema name.</returns>
    public static async Task<string> EnsurePostgresAsync(string connectionString, int builds, TextWriter? progress = null)
    {
        var schema = $"bench_history_{Layout}_{builds}";
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

    /// <summary>The history's batches: the builders, then 10,000 builds per batch, from a fixed seed.</summary>
    private static IEnumerable<WriteBatch> Batches(int builds)
    {
        var builders = Enumerable.Range(0, Builders).Select(b => new StoredBuilder(BuilderName(b), null, [])).ToArray();
        yield return new WriteBatch { Builders = builders };

        // Cumulative weights 1/k of feature-001..feature-499 (19 % of all builds between them).
        var cumulative = new double[FeatureBranches - 1];
        var sum = 0.0;
        for (var k = 1; k < FeatureBranches; k++)
        {
            sum += 1.0 / k;
            cumulative[k - 1] = sum;
        }

        var random = new Random(20261201);
        const int perBatch = 10_000;
        for (var first = 0; first < builds; first += perBatch)
        {
            var rows = new List<StoredBuild>(perBatch);
            for (var i = first; i < Math.Min(builds, first + perBatch); i++)
            {
                var u = random.NextDouble();
                string branch;
                if (u < 0.80)
                {
                    branch = "main";
                }
                else if (u < 0.81)
                {
                    branch = BranchName(0);
                }
                else
                {
                    var k = Array.BinarySearch(cumulative, (u - 0.81) / 0.19 * sum);
                    branch = BranchName(Math.Min(FeatureBranches - 1, (k < 0 ? ~k : k) + 1));
                }

                var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal)
                {
                    ["owner"] = new(string.Create(CultureInfo.InvariantCulture, $"owner-{random.Next(Owners):D2}"), "Scheduler"),
                };
                if (random.NextDouble() < 0.05)
                {
                    properties["pr"] = new(random.Next(1, PullRequests + 1).ToString(CultureInfo.InvariantCulture), "Change");
                }

                var unfinished = random.NextDouble() < 0.0005;
                var started = StartedAt(i);
                BuildResult? result = unfinished ? null : (i % 17) switch { 0 => BuildResult.Failure, 1 => BuildResult.Warnings, _ => BuildResult.Success };
                rows.Add(new StoredBuild(
                    BuilderName(i % Builders),
                    i / Builders + 1,
                    unfinished ? "elsewhere" : "bench",
                    "scheduler",
                    [new SourceStamp("https://example.org/repo.git", branch, Revision(i), null, null)],
                    [],
                    [],
                    "worker-1",
                    properties,
                    started,
                    unfinished ? null : started.AddSeconds(25),
                    result is { } r ? r.ToString().ToLowerInvariant() : "building",
                    result));
            }

            yield return new WriteBatch { Builds = rows };
        }
    }
}
