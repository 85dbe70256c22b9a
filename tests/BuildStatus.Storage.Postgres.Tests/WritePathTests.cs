namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>The write path's two forms: ordinary batches take the fast one (a statement per kind of row); only a batch that does not fit it is run again carefully.</summary>
public sealed class WritePathTests
{
    private static readonly TestDatabase Database = new();

    private static PostgresBuildStore NewStore() => new(Database.Options("w_" + Guid.NewGuid().ToString("N")[..20]));

    private static StoredStep Step(BuildKey build, int number) =>
        new(new StepKey(build.BuilderName, build.Number, number), "compile", "running", TestData.T0, null, null, [new StepUrl("report", "https://example.org/r")], new Dictionary<string, double>(StringComparer.Ordinal) { ["warnings"] = 2 }, false);

    private static StoredLog Log(StepKey step, int number) => new(new LogKey(step.BuilderName, step.BuildNumber, step.StepNumber, number), "stdio", LogKind.Stdio, false, 0, 0);

    [Test]
    public async Task ApplyAsync_OrdinaryBatches_TakeTheFastFormAndStoreEverything()
    {
        await using var store = NewStore();
        var number = await store.CreateBuildAsync(TestData.Build());
        var build = TestData.Build(number: number);
        var key = build.Key;
        StepKey[] steps = [new("linux", number, 0), new("linux", number, 1)];
        LogKey[] logs = [new("linux", number, 0, 0), new("linux", number, 1, 0)];

        await store.ApplyAsync(new WriteBatch
        {
            Builders = [new StoredBuilder("linux", "Linux builds", ["x86"])],
            Workers = [new StoredWorker("worker-1", "h1", new Dictionary<string, string>(StringComparer.Ordinal) { ["os"] = "debian" }, true, TestData.T0)],
            Builds = [build with { StateText = "compiling" }],
            Steps = [Step(key, 0), Step(key, 1)],
            Logs = [Log(steps[0], 0), Log(steps[1], 0)],
            LogChunks = [TestData.Chunk(logs[0], 0, 10), TestData.Chunk(logs[1], 0, 5), TestData.Chunk(logs[0], 10, 10)],
        });
        await store.ApplyAsync(new WriteBatch
        {
            Builds = [build with { StateText = "done", FinishedAt = TestData.T0.AddMinutes(1), Result = BuildResult.Warnings, SourceStamps = [new SourceStamp("repo", "release")] }],
            LogChunks = [TestData.Chunk(logs[1], 5, 5)],
        });

        var stored = await store.GetBuildAsync(key);
        Assert.Multiple(async () =>
        {
            Assert.That(store.CarefulBatches, Is.Zero, "no batch needed the careful form");
            Assert.That(stored!.StateText, Is.EqualTo("done"));
            Assert.That(stored.Result, Is.EqualTo(BuildResult.Warnings));
            Assert.That(stored.SourceStamps, Is.EqualTo(new[] { new SourceStamp("repo", "release") }));
            Assert.That(stored.Properties.Keys, Is.EquivalentTo(new[] { "os" }));
            Assert.That((await store.GetBuilderAsync("linux"))!.Tags, Is.EqualTo(new[] { "x86" }));
            Assert.That((await store.GetWorkerAsync("worker-1"))!.Info["os"], Is.EqualTo("debian"));
            Assert.That((await store.GetStepsAsync(key)).Select(s => s.Statistics["warnings"]), Is.EqualTo(new[] { 2.0, 2.0 }));
            Assert.That((await store.ReadLogLinesAsync(logs[0], 0, 100)).Select(l => l.Number), Is.EqualTo(Enumerable.Range(0, 20).Select(i => (long)i)));
            Assert.That((await store.ReadLogLinesAsync(logs[1], 0, 100)).Select(l => l.Text), Is.EqualTo(TestData.Chunk(logs[1], 0, 5).Lines.Concat(TestData.Chunk(logs[1], 5, 5).Lines).Select(l => l.Text)));
        });
    }

    [Test]
    public async Task ApplyAsync_SameBatchAgain_TakesTheCarefulFormAndStoresEachLineOnce()
    {
        await using var store = NewStore();
        var number = await store.CreateBuildAsync(TestData.Build());
        var key = new BuildKey("linux", number);
        var step = new StepKey("linux", number, 0);
        var log = new LogKey("linux", number, 0, 0);
        var batch = new WriteBatch { Steps = [Step(key, 0)], Logs = [Log(step, 0)], LogChunks = [TestData.Chunk(log, 0, 10), TestData.Chunk(log, 10, 10)] };

        await store.ApplyAsync(batch);
        await store.ApplyAsync(batch);

        Assert.Multiple(async () =>
        {
            Assert.That(store.CarefulBatches, Is.EqualTo(1), "the retried batch's chunks were already stored");
            Assert.That(await store.ReadLogLinesAsync(log, 0, 100), Has.Count.EqualTo(20));
        });
    }

    [Test]
    public async Task ApplyAsync_ChunksWithAGapInOneBatch_AreRejectedNamingTheLog()
    {
        await using var store = NewStore();
        var number = await store.CreateBuildAsync(TestData.Build());
        var log = new LogKey("linux", number, 0, 0);
        await store.ApplyAsync(new WriteBatch { Steps = [Step(new BuildKey("linux", number), 0)], Logs = [Log(log.Step, 0)] });

        var error = Assert.ThrowsAsync<BatchRejectedException>(() => store.ApplyAsync(new WriteBatch { LogChunks = [TestData.Chunk(log, 0, 10), TestData.Chunk(log, 20, 10)] }));

        Assert.Multiple(async () =>
        {
            Assert.That(error!.Keys, Is.EqualTo(new object[] { log }));
            Assert.That(error.Message, Does.Contain("gap"));
            Assert.That(await store.ReadLogLinesAsync(log, 0, 100), Is.Empty, "nothing of the batch was applied");
        });
    }
}
