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
            var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var builders = Enumerable.Range(0, Builders).Select(b => new StoredBuilder(BuilderName(b), null, [])).ToArray();
            await store.ApplyAsync(new WriteBatch { Builders = builders });
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

                await store.ApplyAsync(new WriteBatch { Builds = rows });
            }
        }

        File.WriteAllText(done, $"{builds} builds, written in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        progress?.WriteLine($"// built in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        return path;
    }

    public static string BuilderName(int b) => $"builder-{b:D2}";
}
