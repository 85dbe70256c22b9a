using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>
/// The writer inserts rows it has never written and updates in place the ones it has; these check that the choice
/// holds up when its caches are wrong: after a reopen, when another store wrote or deleted the row, after a rollback.
/// </summary>
public sealed class WritePathTests
{
    [Test]
    public async Task ApplyAsync_RowsWrittenBeforeReopen_UpdatesThemAndContinuesTheLog()
    {
        // An earlier run of the host wrote the step, the log and some lines (as recovery finds them).
        await using var test = new TestStore();
        var first = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(first);
        await first.ApplyAsync(new WriteBatch { LogChunks = TestData.Chunks(log, 0, 3, 3, TestData.CompilerLine) });
        await first.DisposeAsync();

        var second = await test.OpenInitializedAsync();
        var step = TestData.Step(log.Step.Build) with { StateText = "interrupted", FinishedAt = TestData.T0.AddMinutes(1), Result = BuildResult.Retry };
        var finishedLog = TestData.Log(log.Step, lines: 5) with { IsFinished = true };
        var more = TestData.Chunks(log, 3, 2, 2, TestData.CompilerLine);
        await second.ApplyAsync(new WriteBatch { Steps = [step], Logs = [finishedLog], LogChunks = more });

        using var connection = test.Connect();
        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await second.GetStepsAsync(log.Step.Build)).Select(Fields), Is.EqualTo(new[] { Fields(step) }));
            Assert.That(await second.GetLogsAsync(log.Step), Is.EqualTo(new[] { finishedLog }));
            Assert.That((await second.ReadLogLinesAsync(log, 0, 10)).Select(l => l.Number), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM steps") + TestData.Scalar(connection, "SELECT count(*) FROM logs"), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task ApplyAsync_StepWrittenByAnotherStore_ReplacesItWithoutDuplicate()
    {
        await using var test = new TestStore();
        var mine = await test.OpenInitializedAsync();
        var other = await test.OpenInitializedAsync();
        var number = await mine.CreateBuildAsync(TestData.Build());
        var build = new BuildKey("linux", number);
        await other.ApplyAsync(new WriteBatch { Steps = [TestData.Step(build, name: "theirs")], Logs = [TestData.Log(TestData.Step(build).Key)] });

        var step = TestData.Step(build, name: "mine");
        var log = TestData.Log(step.Key) with { Name = "mine", LineCount = 2 };
        await mine.ApplyAsync(new WriteBatch { Steps = [step], Logs = [log], LogChunks = TestData.Chunks(log.Key, 0, 2, 2, TestData.CompilerLine) });

        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await mine.GetStepsAsync(build)).Select(Fields), Is.EqualTo(new[] { Fields(step) }));
            Assert.That(await mine.GetLogsAsync(step.Key), Is.EqualTo(new[] { log }));
            Assert.That(await mine.ReadLogLinesAsync(log.Key, 0, 10), Has.Count.EqualTo(2));
        });
    }

    [Test]
    public async Task ApplyAsync_RowsThisStoreWroteDeletedByAnotherConnection_WritesThemAgain()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);
        var build = log.Step.Build;
        using (var connection = test.Connect())
        {
            using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM logs; DELETE FROM steps;";
            delete.ExecuteNonQuery();
        }

        var step = TestData.Step(build) with { StateText = "again" };
        var row = TestData.Log(step.Key, lines: 1);
        await store.ApplyAsync(new WriteBatch
        {
            Builds = [TestData.Build(number: build.Number, finishedAt: TestData.T0.AddMinutes(2))],
            Steps = [step],
            Logs = [row],
            LogChunks = TestData.Chunks(log, 0, 1, 1, TestData.CompilerLine),
        });

        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await store.GetBuildAsync(build))!.IsFinished, Is.True);
            Assert.That((await store.GetStepsAsync(build)).Select(Fields), Is.EqualTo(new[] { Fields(step) }));
            Assert.That(await store.GetLogsAsync(step.Key), Is.EqualTo(new[] { row }));
            Assert.That(await store.ReadLogLinesAsync(log, 0, 10), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task ApplyAsync_BuildDeletedByAnotherConnection_WritesItAgainFromTheBatch()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var number = await store.CreateBuildAsync(TestData.Build());
        using (var connection = test.Connect())
        {
            using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM source_stamps; DELETE FROM build_properties; DELETE FROM builds;";
            delete.ExecuteNonQuery();
        }

        var finished = TestData.Build(number: number, finishedAt: TestData.T0.AddMinutes(2));
        await store.ApplyAsync(new WriteBatch { Builds = [finished] });

        var stored = await store.GetBuildAsync(finished.Key);
        Assert.That(stored, Is.Not.Null);
        Assert.That(stored!.FinishedAt, Is.EqualTo(finished.FinishedAt));
    }

    [Test]
    public async Task ApplyAsync_BuildFinishedWithSameStartAndHost_IsFoundByEveryIndexedFilter()
    {
        // The finish leaves started_at and host_name out of the UPDATE; the indexes must still agree with the row.
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var number = await store.CreateBuildAsync(TestData.Build());
        var finished = TestData.Build(number: number, finishedAt: TestData.T0.AddMinutes(3), result: BuildResult.Failure);
        await store.ApplyAsync(new WriteBatch { Builds = [finished] });

        await Assert.MultipleAsync(async () =>
        {
            var stored = await store.GetBuildAsync(finished.Key);
            Assert.That((stored!.StartedAt, stored.HostName, stored.FinishedAt, stored.Result), Is.EqualTo((finished.StartedAt, finished.HostName, finished.FinishedAt, finished.Result)));
            Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = TestData.T0, StartedBefore = TestData.T0.AddSeconds(1) }), Has.Count.EqualTo(1));
            Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Failure }, Finished = true }), Has.Count.EqualTo(1));
            Assert.That(await store.GetUnfinishedBuildsAsync("host-a"), Is.Empty);
        });
    }

    [Test]
    public async Task ApplyAsync_BuildStartTimeChangedAfterCreate_IsStoredAndIndexed()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var number = await store.CreateBuildAsync(TestData.Build());
        var moved = TestData.Build(number: number, startedAt: TestData.T0.AddHours(5));
        await store.ApplyAsync(new WriteBatch { Builds = [moved] });

        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await store.GetBuildAsync(moved.Key))!.StartedAt, Is.EqualTo(moved.StartedAt));
            Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = TestData.T0.AddHours(4) }), Has.Count.EqualTo(1));
            Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux") { StartedBefore = TestData.T0.AddHours(4) }), Is.Empty);
        });
    }

    [Test]
    public async Task ApplyAsync_BatchWithNewRowsRolledBack_RetryInsertsThemOnce()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var number = await store.CreateBuildAsync(TestData.Build());
        var step = TestData.Step(new BuildKey("linux", number));
        var log = TestData.Log(step.Key, lines: 2);
        var gap = TestData.Chunks(log.Key, 5, 2, 2, TestData.CompilerLine);
        var good = TestData.Chunks(log.Key, 0, 2, 2, TestData.CompilerLine);

        Assert.ThrowsAsync<BatchRejectedException>(() => store.ApplyAsync(new WriteBatch { Steps = [step], Logs = [log], LogChunks = gap }));
        await store.ApplyAsync(new WriteBatch { Steps = [step], Logs = [log], LogChunks = good });

        using var connection = test.Connect();
        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await store.GetStepsAsync(step.Key.Build)).Select(Fields), Is.EqualTo(new[] { Fields(step) }));
            Assert.That(await store.GetLogsAsync(step.Key), Is.EqualTo(new[] { log }));
            Assert.That(await store.ReadLogLinesAsync(log.Key, 0, 10), Has.Count.EqualTo(2));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM log_chunks"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task ApplyAsync_LogInsertedEarlierThenChunkedByAnotherConnection_ContinuesAfterTheirLines()
    {
        // The log row comes in one batch and its first chunk in a later one; meanwhile another connection adds lines.
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);
        var theirs = TestData.Chunks(log, 0, 2, 2, TestData.CompilerLine);
        await (await test.OpenInitializedAsync()).ApplyAsync(new WriteBatch { LogChunks = theirs });

        await store.ApplyAsync(new WriteBatch { LogChunks = TestData.Chunks(log, 2, 1, 1, TestData.CompilerLine) });

        Assert.That((await store.ReadLogLinesAsync(log, 0, 10)).Select(l => l.Number), Is.EqualTo(new long[] { 0, 1, 2 }));
    }

    // StoredStep compares its lists by reference; these are the fields the tests change.
    private static (StepKey Key, string Name, string StateText, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, BuildResult? Result, bool IsHidden) Fields(StoredStep step) =>
        (step.Key, step.Name, step.StateText, step.StartedAt, step.FinishedAt, step.Result, step.IsHidden);
}
