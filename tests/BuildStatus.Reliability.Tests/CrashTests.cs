using System.Globalization;
using BuildStatus.CrashWorker;
using BuildStatus.Reliability.Tests.Support;
using BuildStatus.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Reliability.Tests;

/// <summary>
/// Crash harness: a child process runs builds on SQLite and journals (fsync'd) each build whose FinishAsync
/// completed; the test kills it with SIGKILL at seeded random moments and checks the file after every kill.
/// </summary>
/// <remarks>
/// Reduced form in <c>dotnet test</c> (24 kills). Standalone: <c>BUILDSTATUS_CRASH_KILLS=200 dotnet test
/// tests/BuildStatus.Reliability.Tests --filter CrashTests</c>; <c>BUILDSTATUS_CRASH_SEED</c> changes the seed.
/// </remarks>
[TestFixture]
[Category("Crash")]
public sealed class CrashTests
{
    private const string HostName = "crash-host";

    private static int EnvInt(string name, int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    [Test]
    [CancelAfter(1_800_000)]
    public async Task KillAtRandomMoments_NothingAcknowledgedIsLost_FileStaysConsistent(CancellationToken cancellationToken)
    {
        var kills = EnvInt("BUILDSTATUS_CRASH_KILLS", 24);
        var seed = EnvInt("BUILDSTATUS_CRASH_SEED", 20260101);
        var rng = new Random(seed);
        using var dir = new TempDir();
        var db = dir.File("history.db");
        var journal = dir.File("acks.jsonl");
        var verifiedAcks = 0;
        long linesVerified = 0, linesDecoded = 0, recovered = 0, earlyKills = 0, logsChecked = 0;
        long lastBuildId = 0;

        for (var life = 0; life < kills; life++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var child = CrashWorkerProcess.Start(db, journal, seed + life, HostName))
            {
                if (rng.Next(6) == 0)
                {
                    // Kill during start-up: schema, recovery of the previous life's builds.
                    earlyKills++;
                    await Task.Delay(rng.Next(50, 600), cancellationToken);
                }
                else
                {
                    var ready = await Task.WhenAny(child.Ready, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken));
                    Assert.That(ready, Is.SameAs(child.Ready), $"life {life}: the worker did not start within 60 s. stderr: {child.StdErr}");
                    await Task.Delay(rng.Next(10, 900), cancellationToken);
                }

                Assert.That(child.HasExited, Is.False, $"life {life}: the worker exited on its own (code {(child.HasExited ? child.ExitCode : 0)}): {child.StdErr}");
                await child.KillAsync();
            }

            var acks = AckJournal.ReadAndRepair(journal);

            // 1. The file is intact and numbering has no gap or duplicate.
            Assert.That(DbVerifier.IntegrityCheck(db), Is.EqualTo("ok"), $"life {life}: integrity_check");
            if (!File.Exists(db) || DbVerifier.MaxBuildId(db) == 0)
            {
                continue;
            }

            DbVerifier.AssertNumbersContiguous(db);
            logsChecked += DbVerifier.AssertChunksContiguous(db);

            // 2. Once the killed instance's lease (500 ms) has run out, the next host to start finishes what it left
            //    unfinished, as Retry: only then, since a live instance's builds are never touched.
            var unfinished = UnfinishedIds(db);
            await Task.Delay(TimeSpan.FromMilliseconds(600), cancellationToken);
            await using (var host = await RelHost.SqliteAsync(db, o => o.HostName = HostName))
            {
                Assert.That(UnfinishedIds(db), Is.Empty, $"life {life}: builds still unfinished after recovery");
                await host.Host.StopAsync();
            }

            SqliteConnection.ClearAllPools();
            foreach (var id in unfinished)
            {
                AssertRecoveredAsRetry(db, id);
            }

            recovered += unfinished.Count;

            // 3. Everything acknowledged is stored byte-identical; every chunk of this life's builds decodes.
            var store = new SqliteBuildStore(new SqliteStorageOptions { ConnectionString = $"Data Source={db}" });
            await using (store)
            {
                for (; verifiedAcks < acks.Count; verifiedAcks++)
                {
                    linesVerified += await DbVerifier.AssertAcknowledgedAsync(store, acks[verifiedAcks]);
                }

                linesDecoded += await DbVerifier.AssertLogsDecodeAsync(store, db, lastBuildId);
            }

            lastBuildId = DbVerifier.MaxBuildId(db);
        }

        // Finally, everything acknowledged over all lives is still there (nothing lost by later recoveries).
        var all = AckJournal.ReadAndRepair(journal);
        long finalLines = 0;
        var finalStore = new SqliteBuildStore(new SqliteStorageOptions { ConnectionString = $"Data Source={db}" });
        await using (finalStore)
        {
            foreach (var ack in all)
            {
                finalLines += await DbVerifier.AssertAcknowledgedAsync(finalStore, ack);
            }
        }

        Assert.That(all, Is.Not.Empty, "the worker acknowledged at least one build over all lives");
        var totalBuilds = DbVerifier.MaxBuildId(db);
        var summary = $"CRASH FIGURES: seed={seed} kills={kills} (during start-up: {earlyKills}) acknowledged builds={all.Count} " +
            $"(steps={all.Sum(a => a.Steps.Count)}, logs={all.Sum(a => a.Steps.Sum(s => s.Logs.Count))}, lines={finalLines}) " +
            $"builds stored={totalBuilds} recovered as Retry={recovered} log lines hash-verified per life={linesVerified} " +
            $"lines decoded={linesDecoded} logs chunk-checked (cumulative)={logsChecked} lost=0";
        await TestContext.Progress.WriteLineAsync(summary);
        TestContext.Out.WriteLine(summary);
    }

    private static List<long> UnfinishedIds(string db)
    {
        using var connection = DbVerifier.Open(db);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM builds WHERE finished_at IS NULL AND host_name = $host";
        command.Parameters.AddWithValue("$host", HostName);
        var ids = new List<long>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    private static void AssertRecoveredAsRetry(string db, long buildId)
    {
        using var connection = DbVerifier.Open(db);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT result, state_text, " +
            "(SELECT count(*) FROM steps WHERE build_id = $id AND finished_at IS NULL), " +
            "(SELECT count(*) FROM logs WHERE build_id = $id AND is_finished = 0) FROM builds WHERE id = $id";
        command.Parameters.AddWithValue("$id", buildId);
        using var reader = command.ExecuteReader();
        Assert.That(reader.Read(), Is.True, $"build id {buildId} still exists");
        Assert.That(reader.GetInt64(0), Is.EqualTo((long)BuildResult.Retry), $"build id {buildId} recovered as Retry");
        Assert.That(reader.GetString(1), Does.Contain("interrupted"));
        Assert.That(reader.GetInt64(2), Is.Zero, $"build id {buildId}: open steps after recovery");
        Assert.That(reader.GetInt64(3), Is.Zero, $"build id {buildId}: open logs after recovery");
    }
}
