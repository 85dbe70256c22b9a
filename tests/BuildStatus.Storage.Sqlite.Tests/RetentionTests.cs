using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class RetentionTests
{
    [Test]
    public async Task PruneAsync_MaxBuildsPerBuilder_DeletesOldestFinishedAndKeepsUnfinished()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        await SeedAsync(store, "linux", finished: 5, unfinished: 1, linesPerLog: 50);
        await SeedAsync(store, "mac", finished: 2, unfinished: 0, linesPerLog: 50);

        var result = await store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 2 }, TestData.T0.AddDays(1));

        var linux = await store.QueryBuildsAsync(new BuildQuery("linux"));
        using var connection = test.Connect();
        Assert.Multiple(async () =>
        {
            Assert.That(result, Is.EqualTo(new PruneResult(3, 0)));
            Assert.That(linux.Select(b => b.Number), Is.EqualTo(new[] { 6, 5, 4 }));
            Assert.That(await store.QueryBuildsAsync(new BuildQuery("mac")), Has.Count.EqualTo(2));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM steps WHERE build_id NOT IN (SELECT id FROM builds)"), Is.Zero);
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM log_chunks WHERE log_id NOT IN (SELECT id FROM logs)"), Is.Zero);
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM source_stamps WHERE build_id NOT IN (SELECT id FROM builds)"), Is.Zero);
        });
    }

    [Test]
    public async Task PruneAsync_BuildHorizon_DeletesBuildsFinishedBeforeCutoff()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        await SeedAsync(store, "linux", finished: 4, unfinished: 1, linesPerLog: 10);

        // Build n finished at T0 + n hours; a 30-hour horizon at T0 + 1 day 8 hours keeps those finished from T0 + 2 h.
        var result = await store.PruneAsync(new RetentionPolicy { BuildHorizon = TimeSpan.FromHours(30) }, TestData.T0.AddHours(32));

        Assert.Multiple(async () =>
        {
            Assert.That(result.BuildsDeleted, Is.EqualTo(1));
            Assert.That((await store.QueryBuildsAsync(new BuildQuery("linux"))).Select(b => b.Number), Is.EqualTo(new[] { 5, 4, 3, 2 }));
        });
    }

    [Test]
    public async Task PruneAsync_LogLimits_DeleteLogsOfOlderBuildsAndKeepTheBuilds()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        await SeedAsync(store, "linux", finished: 4, unfinished: 0, linesPerLog: 30);

        var result = await store.PruneAsync(new RetentionPolicy { MaxLogBuildsPerBuilder = 1, LogHorizon = TimeSpan.FromDays(30) }, TestData.T0.AddDays(1));

        Assert.Multiple(async () =>
        {
            Assert.That(result, Is.EqualTo(new PruneResult(0, 3)));
            Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(4));
            Assert.That(await store.GetLogsAsync(new StepKey("linux", 4, 1)), Has.Count.EqualTo(1));
            Assert.That(await store.GetLogsAsync(new StepKey("linux", 3, 1)), Is.Empty);
            Assert.That(await store.GetStepsAsync(new BuildKey("linux", 3)), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task PruneAsync_TinyTransactions_StillDeletesEverythingDue()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        await SeedAsync(store, "linux", finished: 3, unfinished: 1, linesPerLog: 100);

        var result = await store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 0, MaxRowsPerTransaction = 2 }, TestData.T0.AddDays(1));

        using var connection = test.Connect();
        Assert.Multiple(() =>
        {
            Assert.That(result.BuildsDeleted, Is.EqualTo(3));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM builds"), Is.EqualTo(1));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM log_chunks"), Is.EqualTo(10), "the unfinished build's chunks");
        });
    }

    [Test]
    public async Task PruneAsync_ThenVacuum_ShrinksTheFile()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o => o.VacuumAfterPrune = false);
        await SeedAsync(store, "linux", finished: 20, unfinished: 0, linesPerLog: 2000, compressible: false);
        using var connection = test.Connect();
        var pagesBefore = TestData.Scalar(connection, "PRAGMA page_count");

        await store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 1 }, TestData.T0.AddDays(1));
        var freeAfterPrune = TestData.Scalar(connection, "PRAGMA freelist_count");
        var released = await store.VacuumAsync();

        Assert.Multiple(() =>
        {
            Assert.That(freeAfterPrune, Is.GreaterThan(0));
            Assert.That(released, Is.GreaterThanOrEqualTo(freeAfterPrune));
            Assert.That(TestData.Scalar(connection, "PRAGMA freelist_count"), Is.Zero);
            Assert.That(TestData.Scalar(connection, "PRAGMA page_count"), Is.LessThan(pagesBefore / 5));
        });
    }

    /// <summary>Builds 1..finished finish at T0 + number hours; then unfinished ones; each has one step with one log.</summary>
    private static async Task SeedAsync(IBuildStore store, string builder, int finished, int unfinished, int linesPerLog, bool compressible = true)
    {
        var random = new Random(7);
        for (var i = 0; i < finished + unfinished; i++)
        {
            var number = await store.CreateBuildAsync(TestData.Build(builder));
            var key = new BuildKey(builder, number);
            var step = TestData.Step(key);
            var log = TestData.Log(step.Key, lines: linesPerLog);
            var builds = i < finished ? new[] { TestData.Build(builder, number, finishedAt: TestData.T0.AddHours(number)) } : [];
            Func<long, string> text = compressible ? TestData.CompilerLine : _ => Convert.ToBase64String(Enumerable.Range(0, 60).Select(_ => (byte)random.Next()).ToArray());
            await store.ApplyAsync(new WriteBatch
            {
                Builds = builds,
                Steps = [step],
                Logs = [log],
                LogChunks = TestData.Chunks(log.Key, 0, linesPerLog, 10, text),
            });
        }
    }
}
