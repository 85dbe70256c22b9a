using BuildStatus.Storage.Sqlite.Internal;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary><see cref="SqliteBuildStore.VacuumAsync"/>'s WAL checkpoint runs without holding up writers.</summary>
public sealed class CheckpointTests
{
    // A checkpoint that waited for the reader would wait this long: longer than the generous wait below, so the test
    // fails instead of passing late, and short enough that a failing run ends.
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(1);

    [Test]
    public async Task VacuumAsync_ReaderHoldsOldSnapshot_ReturnsAndWritesProceedWhileItHolds()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o =>
        {
            o.BusyTimeout = BusyTimeout;
            o.VacuumAfterPrune = false;
        });
        await SeedAsync(store, builds: 10, linesPerLog: 2000);
        await store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 2 }, TestData.T0.AddDays(1));

        using var reader = test.Connect();
        using var snapshot = reader.BeginTransaction(deferred: true);
        Assert.That(TestData.Scalar(reader, "SELECT count(*) FROM builds"), Is.EqualTo(2));

        // More WAL than the reader lets a checkpoint copy, then the vacuum and a build start, all while it reads.
        // SQLite calls run on the calling thread, so each runs on the pool to be waited for with a bound.
        await SeedAsync(store, builds: 5, linesPerLog: 2000);
        var vacuum = Task.Run(() => store.VacuumAsync());
        Assert.That(await Task.WhenAny(vacuum, Task.Delay(Generous)), Is.SameAs(vacuum), "VacuumAsync waited for the reader.");
        Assert.That(await vacuum, Is.GreaterThan(0));
        var start = Task.Run(() => store.CreateBuildAsync(TestData.Build()));
        Assert.That(await Task.WhenAny(start, Task.Delay(Generous)), Is.SameAs(start), "a build start waited behind the checkpoint.");
        Assert.That(TestData.Scalar(reader, "SELECT count(*) FROM builds"), Is.EqualTo(2), "the reader kept its snapshot");
    }

    [Test]
    public async Task VacuumAsync_AfterReadersLeave_NextWriteCutsTheWalBackToItsLimit()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o => o.VacuumAfterPrune = false);
        var wal = test.FilePath + "-wal";
        using (var reader = test.Connect())
        using (reader.BeginTransaction(deferred: true))
        {
            // While a reader holds the first snapshot, no checkpoint can restart the WAL, so it grows past the limit.
            TestData.Scalar(reader, "SELECT count(*) FROM builds");
            await SeedAsync(store, builds: 12, linesPerLog: 5000);
            Assert.That(new FileInfo(wal).Length, Is.GreaterThan(SqliteConnectionFactory.JournalSizeLimitBytes));
        }

        await store.VacuumAsync();
        await store.CreateBuildAsync(TestData.Build());

        Assert.That(new FileInfo(wal).Length, Is.LessThanOrEqualTo(SqliteConnectionFactory.JournalSizeLimitBytes));
    }

    // Builds with one step and one log each, the log's lines random (incompressible, so they take room).
    private static async Task SeedAsync(SqliteBuildStore store, int builds, int linesPerLog)
    {
        var random = new Random(11);
        for (var i = 0; i < builds; i++)
        {
            var number = await store.CreateBuildAsync(TestData.Build());
            var key = new BuildKey("linux", number);
            var step = TestData.Step(key);
            var log = TestData.Log(step.Key, lines: linesPerLog);
            await store.ApplyAsync(new WriteBatch
            {
                Builds = [TestData.Build(number: number, finishedAt: TestData.T0.AddHours(number))],
                Steps = [step],
                Logs = [log],
                LogChunks = TestData.Chunks(log.Key, 0, linesPerLog, 500, _ => Convert.ToBase64String(Enumerable.Range(0, 60).Select(_ => (byte)random.Next()).ToArray())),
            });
        }
    }
}
