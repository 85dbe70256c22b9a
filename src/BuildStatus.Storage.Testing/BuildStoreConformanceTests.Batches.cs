using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Upserts, batch atomicity and idempotence, and the order of rows.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>Upserting a builder replaces every field, shrinking its tags and clearing its description.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuilderUpsertedAgain_ReplacesAllFields()
    {
        await Store.ApplyAsync(new WriteBatch { Builders = [new StoredBuilder("linux", "old", ["a", "b", "c"])] });
        var replacement = new StoredBuilder("linux", null, ["c"]);

        await Store.ApplyAsync(new WriteBatch { Builders = [replacement] });

        AssertSameBuilder(await Store.GetBuilderAsync("linux"), replacement);
        Assert.That(await Store.GetBuildersAsync(), Has.Count.EqualTo(1));
    }

    /// <summary>Upserting a worker replaces every field, shrinking its info and clearing its optionals.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_WorkerUpsertedAgain_ReplacesAllFields()
    {
        var info = new Dictionary<string, string>(StringComparer.Ordinal) { ["os"] = "Linux", ["cpu"] = "8" };
        await Store.ApplyAsync(new WriteBatch { Workers = [new StoredWorker("w", "host", info, IsConnected: true, T0)] });
        var replacement = new StoredWorker("w", null, new Dictionary<string, string>(StringComparer.Ordinal) { ["cpu"] = "16" }, IsConnected: false, null);

        await Store.ApplyAsync(new WriteBatch { Workers = [replacement] });

        AssertSameWorker(await Store.GetWorkerAsync("w"), replacement);
        Assert.That(await Store.GetWorkersAsync(), Has.Count.EqualTo(1));
    }

    /// <summary>Upserting a build replaces every field and its stamps, changes, users and properties, which may shrink.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuildUpsertedAgain_ReplacesAllFieldsAndCollections()
    {
        var original = NewBuild("linux", 1) with
        {
            SourceStamps = [new SourceStamp("a", "main", "1"), new SourceStamp("b", "dev", "2")],
            Changes = [new BuildChange("1", "ann"), new BuildChange("2", "bob")],
            ResponsibleUsers = ["ann", "bob"],
            Properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["x"] = new("1", "s"), ["y"] = new("2", "s") },
        };
        await Store.ApplyAsync(new WriteBatch { Builds = [original] });
        var replacement = Finish(original, T0.AddHours(1), BuildResult.Cancelled) with
        {
            HostName = "host-b",
            Reason = null,
            WorkerName = null,
            SourceStamps = [new SourceStamp("b", "dev", "3")],
            Changes = [],
            ResponsibleUsers = ["bob"],
            Properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["y"] = new("3", "t") },
            StartedAt = T0.AddSeconds(1),
        };

        await Store.ApplyAsync(new WriteBatch { Builds = [replacement] });

        AssertSameBuild(await Store.GetBuildAsync(original.Key), replacement);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(1));
    }

    /// <summary>Upserting a build keeps its steps, logs and lines (an upsert is not a delete and insert).</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuildUpsertedAgain_KeepsItsStepsLogsAndLines()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 3, 3);

        await Store.ApplyAsync(new WriteBatch { Builds = [Finish(NewBuild("linux", 1), T0.AddHours(1))] });

        Assert.That(await Store.GetStepsAsync(new BuildKey("linux", 1)), Has.Count.EqualTo(1));
        Assert.That(await Store.GetLogAsync(log), Is.Not.Null);
        Assert.That(await Store.ReadLogLinesAsync(log, 0, 10), Has.Count.EqualTo(3));
    }

    /// <summary>Upserting a step replaces every field, shrinking its URLs and statistics, and keeps its logs.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_StepUpsertedAgain_ReplacesAllFieldsAndKeepsLogs()
    {
        var log = await SeedLogAsync();
        var original = NewStep(log.Step) with
        {
            Urls = [new StepUrl("a", "http://a"), new StepUrl("b", "http://b")],
            Statistics = new Dictionary<string, double>(StringComparer.Ordinal) { ["x"] = 1, ["y"] = 2 },
            IsHidden = true,
        };
        await Store.ApplyAsync(new WriteBatch { Steps = [original] });
        var replacement = original with
        {
            Name = "renamed",
            StateText = "done",
            StartedAt = null,
            FinishedAt = T0.AddHours(2),
            Result = BuildResult.Skipped,
            Urls = [new StepUrl("b", "http://b2")],
            Statistics = new Dictionary<string, double>(StringComparer.Ordinal) { ["y"] = 3 },
            IsHidden = false,
        };

        await Store.ApplyAsync(new WriteBatch { Steps = [replacement] });

        var steps = await Store.GetStepsAsync(log.Step.Build);
        Assert.That(steps, Has.Count.EqualTo(1));
        AssertSameStep(steps[0], replacement);
        Assert.That(await Store.GetLogAsync(log), Is.Not.Null);
    }

    /// <summary>Upserting a log replaces its row and keeps its lines.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_LogUpsertedAgain_ReplacesRowAndKeepsLines()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 5, 5);
        var replacement = new StoredLog(log, "renamed", LogKind.Text, IsFinished: true, 5, 30);

        await Store.ApplyAsync(new WriteBatch { Logs = [replacement] });

        Assert.That(await Store.GetLogAsync(log), Is.EqualTo(replacement));
        Assert.That(await Store.GetLogsAsync(log.Step), Is.EqualTo(new[] { replacement }));
        Assert.That(await Store.ReadLogLinesAsync(log, 0, 10), Is.EqualTo(NewChunk(log, 0, 5).Lines));
    }

    /// <summary>A build whose builder has no row creates a row with only the builder's name.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuildOfBuilderWithoutRow_CreatesNameOnlyBuilder()
    {
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("new-builder", 3)] });

        AssertSameBuilder(await Store.GetBuilderAsync("new-builder"), new StoredBuilder("new-builder", null, []));
    }

    /// <summary>A build whose builder row is in the same batch keeps that row's fields.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuilderAndBuildInOneBatch_KeepsBuilderFields()
    {
        var builder = new StoredBuilder("linux", "desc", ["t"]);

        await Store.ApplyAsync(new WriteBatch { Builders = [builder], Builds = [NewBuild("linux", 1)] });

        AssertSameBuilder(await Store.GetBuilderAsync("linux"), builder);
    }

    /// <summary>A whole build (build, steps, logs, chunks) in one batch is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_ParentsAndChildrenInOneBatch_StoresAll()
    {
        var log = new LogKey("linux", 1, 1, 1);

        await Store.ApplyAsync(new WriteBatch
        {
            Builds = [NewBuild("linux", 1)],
            Steps = [NewStep(log.Step)],
            Logs = [NewLog(log)],
            LogChunks = [NewChunk(log, 0, 4), NewChunk(log, 4, 4)],
        });

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Is.EqualTo(NewChunk(log, 0, 8).Lines));
    }

    /// <summary>
    /// Asserts that <paramref name="batch"/> is rejected with <see cref="BatchRejectedException"/> (the one exception
    /// that means "this can never succeed"; any other exception is retried by Core forever), and that its
    /// <see cref="BatchRejectedException.Keys"/>, when not empty, name <paramref name="offending"/>.
    /// </summary>
    private void AssertRejected(WriteBatch batch, object offending)
    {
        var rejection = Assert.ThrowsAsync<BatchRejectedException>(async () => await Store.ApplyAsync(batch));
        Assert.That(rejection!.Keys, Is.Empty.Or.Contains(offending), "the rejection names the offending row, or no row");
    }

    /// <summary>A batch whose last step belongs to a missing build throws and stores nothing of the batch.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_LastStepOfUnknownBuild_ThrowsAndAppliesNothing()
    {
        var batch = new WriteBatch
        {
            Builders = [new StoredBuilder("linux", "d", [])],
            Workers = [new StoredWorker("w", null, new Dictionary<string, string>(StringComparer.Ordinal), IsConnected: true, null)],
            Builds = [NewBuild("linux", 1)],
            Steps = [NewStep(new StepKey("linux", 1, 1)), NewStep(new StepKey("linux", 99, 1))],
        };

        AssertRejected(batch, new StepKey("linux", 99, 1));

        await AssertEmptyAsync();
    }

    /// <summary>A batch whose last log belongs to a missing step throws and stores nothing of the batch.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_LastLogOfUnknownStep_ThrowsAndAppliesNothing()
    {
        var batch = new WriteBatch
        {
            Builds = [NewBuild("linux", 1)],
            Steps = [NewStep(new StepKey("linux", 1, 1))],
            Logs = [NewLog(new LogKey("linux", 1, 1, 1)), NewLog(new LogKey("linux", 1, 2, 1))],
        };

        AssertRejected(batch, new LogKey("linux", 1, 2, 1));

        await AssertEmptyAsync();
    }

    /// <summary>A batch whose last chunk leaves a gap in its log throws and stores nothing of the batch.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_LastChunkLeavesGap_ThrowsAndAppliesNothing()
    {
        var log = new LogKey("linux", 1, 1, 1);
        var batch = new WriteBatch
        {
            Builders = [new StoredBuilder("linux", "d", [])],
            Builds = [NewBuild("linux", 1)],
            Steps = [NewStep(log.Step)],
            Logs = [NewLog(log)],
            LogChunks = [NewChunk(log, 0, 10), NewChunk(log, 11, 5)],
        };

        AssertRejected(batch, log);

        await AssertEmptyAsync();
    }

    /// <summary>A chunk that starts past the lines already stored throws and leaves the stored lines as they were.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_ChunkAfterGapInStoredLog_ThrowsAndKeepsStoredLines()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 10, 10);
        var other = new LogKey("linux", 1, 1, 2);
        var batch = new WriteBatch { Logs = [NewLog(other)], LogChunks = [NewChunk(other, 0, 3), NewChunk(log, 12, 3)] };

        AssertRejected(batch, log);

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Has.Count.EqualTo(10));
        Assert.That(await Store.GetLogAsync(other), Is.Null);
        Assert.That(await Store.ReadLogLinesAsync(other, 0, 100), Is.Empty);
    }

    /// <summary>A chunk of a missing step throws.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_ChunkOfUnknownStep_Throws()
    {
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)] });
        var log = new LogKey("linux", 1, 5, 1);

        AssertRejected(new WriteBatch { LogChunks = [NewChunk(log, 0, 1)] }, log);

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 10), Is.Empty);
    }

    /// <summary>A chunk of a log that has no row, stored or in the batch, throws.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_ChunkOfLogWithoutRow_Throws()
    {
        var log = await SeedLogAsync();
        var missing = log with { LogNumber = 2 };

        AssertRejected(new WriteBatch { LogChunks = [NewChunk(missing, 0, 1)] }, missing);

        Assert.That(await Store.ReadLogLinesAsync(missing, 0, 10), Is.Empty);
    }

    /// <summary>Applying the same batch twice leaves the same state: every line stored once.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_SameBatchTwice_StoresEachLineOnce()
    {
        var log = new LogKey("linux", 1, 1, 1);
        var batch = new WriteBatch
        {
            Builds = [NewBuild("linux", 1)],
            Steps = [NewStep(log.Step)],
            Logs = [NewLog(log) with { LineCount = 6 }],
            LogChunks = [NewChunk(log, 0, 3), NewChunk(log, 3, 3)],
        };

        await Store.ApplyAsync(batch);
        await Store.ApplyAsync(batch);

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Is.EqualTo(NewChunk(log, 0, 6).Lines));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(1));
        Assert.That(await Store.GetStepsAsync(log.Step.Build), Has.Count.EqualTo(1));
        Assert.That(await Store.GetLogsAsync(log.Step), Has.Count.EqualTo(1));
    }

    /// <summary>A chunk whose first line is already stored is skipped whole, even when it reaches past the stored lines.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_ChunkStartingAtStoredLine_IsSkippedWhole()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 10, 10);
        var overlapping = new StoredLogChunk(log, [.. NewChunk(log, 5, 10).Lines.Select(l => l with { Text = "replayed" })]);

        await Store.ApplyAsync(new WriteBatch { LogChunks = [overlapping] });

        var lines = await Store.ReadLogLinesAsync(log, 0, 100);
        Assert.That(lines, Is.EqualTo(NewChunk(log, 0, 10).Lines));

        await Store.ApplyAsync(new WriteBatch { LogChunks = [NewChunk(log, 10, 5)] });

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Is.EqualTo(NewChunk(log, 0, 15).Lines));
    }

    /// <summary>Several chunks of several logs in one batch are appended in order.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_InterleavedChunksOfTwoLogs_AppendsEachInOrder()
    {
        var first = await SeedLogAsync();
        var second = first with { LogNumber = 2 };
        await Store.ApplyAsync(new WriteBatch { Logs = [NewLog(second, "second")] });

        await Store.ApplyAsync(new WriteBatch
        {
            LogChunks = [NewChunk(first, 0, 2), NewChunk(second, 0, 1), NewChunk(first, 2, 3), NewChunk(second, 1, 4), NewChunk(first, 5, 1)],
        });

        Assert.That(await Store.ReadLogLinesAsync(first, 0, 100), Is.EqualTo(NewChunk(first, 0, 6).Lines));
        Assert.That(await Store.ReadLogLinesAsync(second, 0, 100), Is.EqualTo(NewChunk(second, 0, 5).Lines));
    }

    /// <summary>An empty batch is accepted and changes nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_EmptyBatch_ChangesNothing()
    {
        await Store.ApplyAsync(new WriteBatch());

        await AssertEmptyAsync();
    }

    /// <summary>Steps come back ordered by number whatever order they were written in.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetStepsAsync_WrittenOutOfOrder_ReturnsByNumber()
    {
        var build = NewBuild("linux", 1);
        int[] order = [10, 2, 1, 33, 3];

        await Store.ApplyAsync(new WriteBatch { Builds = [build], Steps = [.. order.Take(3).Select(n => NewStep(new StepKey("linux", 1, n), "s" + Text(n)))] });
        await Store.ApplyAsync(new WriteBatch { Steps = [.. order.Skip(3).Select(n => NewStep(new StepKey("linux", 1, n), "s" + Text(n)))] });

        var steps = await Store.GetStepsAsync(build.Key);
        Assert.That(steps.Select(s => s.Key.StepNumber), Is.EqualTo(new[] { 1, 2, 3, 10, 33 }));
        Assert.That(steps.Select(s => s.Name), Is.EqualTo(new[] { "s1", "s2", "s3", "s10", "s33" }));
    }

    /// <summary>Logs come back ordered by number whatever order they were written in, and only the step's own.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetLogsAsync_WrittenOutOfOrder_ReturnsStepsLogsByNumber()
    {
        var step = new StepKey("linux", 1, 1);
        var otherStep = new StepKey("linux", 1, 2);

        await Store.ApplyAsync(new WriteBatch
        {
            Builds = [NewBuild("linux", 1)],
            Steps = [NewStep(step), NewStep(otherStep)],
            Logs = [NewLog(new LogKey("linux", 1, 1, 12)), NewLog(new LogKey("linux", 1, 1, 2)), NewLog(new LogKey("linux", 1, 2, 1)), NewLog(new LogKey("linux", 1, 1, 1))],
        });

        Assert.That((await Store.GetLogsAsync(step)).Select(l => l.Key.LogNumber), Is.EqualTo(new[] { 1, 2, 12 }));
    }

    /// <summary>Builders come back ordered by name, ordinal (upper case before lower case, by code point).</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetBuildersAsync_SeveralBuilders_ReturnsByOrdinalName()
    {
        string[] names = ["b", "B", "a", "_x", "Z", "é", "aa", "A-1", "10", "9"];

        await Store.ApplyAsync(new WriteBatch { Builders = [.. names.Select(n => new StoredBuilder(n, null, []))] });

        var expected = names.Order(StringComparer.Ordinal).ToArray();
        Assert.That((await Store.GetBuildersAsync()).Select(b => b.Name), Is.EqualTo(expected));
    }

    /// <summary>Workers come back ordered by name, ordinal.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetWorkersAsync_SeveralWorkers_ReturnsByOrdinalName()
    {
        string[] names = ["w2", "W1", "w10", "ω", "w1"];

        await Store.ApplyAsync(new WriteBatch { Workers = [.. names.Select(n => new StoredWorker(n, null, new Dictionary<string, string>(StringComparer.Ordinal), IsConnected: false, null))] });

        var expected = names.Order(StringComparer.Ordinal).ToArray();
        Assert.That((await Store.GetWorkersAsync()).Select(w => w.Name), Is.EqualTo(expected));
    }

    /// <summary>Readers running alongside a writer see each batch whole: never a build without the step written with it.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_ConcurrentReaders_SeeWholeBatches()
    {
        const int Builds = 100;
        var writer = Task.Run(async () =>
        {
            for (var n = 1; n <= Builds; n++)
            {
                await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", n)], Steps = [NewStep(new StepKey("linux", n, 1))] });
            }
        });

        var torn = 0;
        while (!writer.IsCompleted)
        {
            var newest = await Store.QueryBuildsAsync(new BuildQuery("linux") { Limit = 1 });
            if (newest.Count == 1 && (await Store.GetStepsAsync(newest[0].Key)).Count != 1)
            {
                torn++;
            }
        }

        await writer;
        Assert.That(torn, Is.Zero);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { Limit = BuildQuery.MaxLimit }), Has.Count.EqualTo(Builds));
    }

    // Nothing at all is stored.
    private async Task AssertEmptyAsync()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.GetBuildersAsync(), Is.Empty);
            Assert.That(await Store.GetWorkersAsync(), Is.Empty);
            Assert.That(await Store.GetBuildAsync(new BuildKey("linux", 1)), Is.Null);
            Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux")), Is.Empty);
            Assert.That(await Store.GetStepsAsync(new BuildKey("linux", 1)), Is.Empty);
            Assert.That(await Store.GetLogsAsync(new StepKey("linux", 1, 1)), Is.Empty);
            Assert.That(await Store.ReadLogLinesAsync(new LogKey("linux", 1, 1, 1), 0, 100), Is.Empty);
        }
    }
}
