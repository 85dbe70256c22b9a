using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content><see cref="IBuildStore.PruneAsync"/> and the <see cref="RetentionPolicy"/> limits.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>A policy with no limit deletes nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_NoLimits_DeletesNothing()
    {
        await SeedPruneHistoryAsync();

        var result = await Store.PruneAsync(new RetentionPolicy(), T0.AddYears(10));

        Assert.That(result, Is.EqualTo(new PruneResult(0, 0)));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(11));
    }

    /// <summary>The build horizon deletes builds that finished more than the horizon ago, with their steps, logs and
    /// lines; a build that finished exactly at the horizon is kept.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_BuildHorizon_DeletesBuildsFinishedBeforeIt()
    {
        await SeedPruneHistoryAsync();

        var result = await Store.PruneAsync(new RetentionPolicy { BuildHorizon = TimeSpan.FromDays(1) }, PruneFinish(5).AddDays(1));

        Assert.That(result, Is.EqualTo(new PruneResult(4, 0)));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux"))), Is.EqualTo(new[] { 11, 10, 9, 8, 7, 6, 5 }));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("windows")), Has.Count.EqualTo(3));
        await AssertBuildGoneAsync("linux", 4);
        await AssertLogsKeptAsync("linux", 5);
    }

    /// <summary>Unfinished builds are never pruned, however old, by any limit.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_EveryLimit_NeverTouchesUnfinishedBuilds()
    {
        await SeedPruneHistoryAsync();
        var policy = new RetentionPolicy { BuildHorizon = TimeSpan.FromMinutes(1), MaxBuildsPerBuilder = 0, LogHorizon = TimeSpan.FromMinutes(1), MaxLogBuildsPerBuilder = 0 };

        var result = await Store.PruneAsync(policy, T0.AddYears(1));

        Assert.That(result.BuildsDeleted, Is.EqualTo(13));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux"))), Is.EqualTo(new[] { 11 }));
        await AssertLogsKeptAsync("linux", 11);
    }

    /// <summary>The per-builder build limit keeps each builder's newest finished builds; unfinished ones do not count.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_MaxBuildsPerBuilder_KeepsNewestFinishedPerBuilder()
    {
        await SeedPruneHistoryAsync();

        var result = await Store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 3 }, T0.AddDays(1));

        Assert.That(result, Is.EqualTo(new PruneResult(7, 0)));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux"))), Is.EqualTo(new[] { 11, 10, 9, 8 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("windows"))), Is.EqualTo(new[] { 3, 2, 1 }));
        await AssertBuildGoneAsync("linux", 7);
    }

    /// <summary>The log horizon deletes the logs and lines of builds that finished before it, keeping the builds and steps.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_LogHorizon_DeletesOldLogsAndKeepsBuilds()
    {
        await SeedPruneHistoryAsync();

        var result = await Store.PruneAsync(new RetentionPolicy { LogHorizon = TimeSpan.FromDays(1) }, PruneFinish(5).AddDays(1));

        Assert.That(result, Is.EqualTo(new PruneResult(0, 8)));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(11));
        await AssertLogsGoneAsync("linux", 4);
        await AssertLogsKeptAsync("linux", 5);
        await AssertLogsKeptAsync("windows", 1);
    }

    /// <summary>The per-builder log limit keeps the logs of each builder's newest finished builds only.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_MaxLogBuildsPerBuilder_KeepsLogsOfNewestFinished()
    {
        await SeedPruneHistoryAsync();

        var result = await Store.PruneAsync(new RetentionPolicy { MaxLogBuildsPerBuilder = 2 }, T0.AddDays(1));

        Assert.That(result, Is.EqualTo(new PruneResult(0, 18)));
        await AssertLogsGoneAsync("linux", 8);
        await AssertLogsKeptAsync("linux", 9);
        await AssertLogsKeptAsync("linux", 11);
        await AssertLogsGoneAsync("windows", 1);
        await AssertLogsKeptAsync("windows", 2);
    }

    /// <summary>With both limits, logs are counted only for the builds that are kept.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_BuildAndLogLimits_CountsLogsOfKeptBuildsOnly()
    {
        await SeedPruneHistoryAsync();

        var result = await Store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 5, MaxLogBuildsPerBuilder = 2 }, T0.AddDays(1));

        Assert.That(result, Is.EqualTo(new PruneResult(5, 8)));
        await AssertBuildGoneAsync("linux", 5);
        await AssertLogsGoneAsync("linux", 6);
        await AssertLogsGoneAsync("linux", 8);
        await AssertLogsKeptAsync("linux", 9);
        await AssertLogsGoneAsync("windows", 1);
    }

    /// <summary>A tiny transaction size still deletes everything that is due, and the counts are right.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_MaxRowsPerTransactionTwo_DeletesEverythingDue()
    {
        await SeedPruneHistoryAsync();

        var logs = await Store.PruneAsync(new RetentionPolicy { MaxLogBuildsPerBuilder = 1, MaxRowsPerTransaction = 2 }, T0.AddDays(1));
        var builds = await Store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 1, MaxRowsPerTransaction = 2 }, T0.AddDays(1));

        Assert.That(logs, Is.EqualTo(new PruneResult(0, 22)));
        Assert.That(builds, Is.EqualTo(new PruneResult(11, 0)));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux"))), Is.EqualTo(new[] { 11, 10 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("windows"))), Is.EqualTo(new[] { 3 }));
        await AssertLogsKeptAsync("linux", 10);
    }

    /// <summary>A second pass of the same policy finds nothing more to delete.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_RunTwice_SecondPassDeletesNothing()
    {
        await SeedPruneHistoryAsync();
        var policy = new RetentionPolicy { MaxBuildsPerBuilder = 4, LogHorizon = TimeSpan.FromMinutes(30) };

        var first = await Store.PruneAsync(policy, PruneFinish(8));
        var second = await Store.PruneAsync(policy, PruneFinish(8));

        Assert.That(first, Is.EqualTo(new PruneResult(6, 2)));
        Assert.That(second, Is.EqualTo(new PruneResult(0, 0)));
    }

    private static DateTimeOffset PruneFinish(int number) => T0.AddHours(number);

    // "linux" builds 1..10 finished at T0 + n hours, build 11 unfinished and started a year before T0; "windows"
    // builds 1..3 finished at T0 + 100 + n hours. Every build has one step with two logs of three lines each.
    private async Task SeedPruneHistoryAsync()
    {
        var builds = new List<StoredBuild>();
        for (var n = 1; n <= 10; n++)
        {
            builds.Add(Finish(NewBuild("linux", n), PruneFinish(n)));
        }

        builds.Add(NewBuild("linux", 11) with { StartedAt = T0.AddYears(-1) });
        for (var n = 1; n <= 3; n++)
        {
            builds.Add(Finish(NewBuild("windows", n), PruneFinish(100 + n)));
        }

        foreach (var build in builds)
        {
            var step = new StepKey(build.BuilderName, build.Number, 1);
            var first = new LogKey(build.BuilderName, build.Number, 1, 1);
            var second = first with { LogNumber = 2 };
            await Store.ApplyAsync(new WriteBatch
            {
                Builds = [build],
                Steps = [NewStep(step)],
                Logs = [NewLog(first), NewLog(second, "stderr")],
                LogChunks = [NewChunk(first, 0, 3), NewChunk(second, 0, 3)],
            });
        }
    }

    private async Task AssertBuildGoneAsync(string builderName, int number)
    {
        var build = new BuildKey(builderName, number);
        var log = new LogKey(builderName, number, 1, 1);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.GetBuildAsync(build), Is.Null, $"Build {build} should be deleted.");
            Assert.That(await Store.GetStepsAsync(build), Is.Empty);
            Assert.That(await Store.GetLogsAsync(log.Step), Is.Empty);
            Assert.That(await Store.GetLogAsync(log), Is.Null);
            Assert.That(await Store.ReadLogLinesAsync(log, 0, 10), Is.Empty);
        }
    }

    private async Task AssertLogsGoneAsync(string builderName, int number)
    {
        var step = new StepKey(builderName, number, 1);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.GetBuildAsync(step.Build), Is.Not.Null, $"Build {step.Build} should be kept.");
            Assert.That(await Store.GetStepsAsync(step.Build), Has.Count.EqualTo(1), $"The steps of {step.Build} should be kept.");
            Assert.That(await Store.GetLogsAsync(step), Is.Empty, $"The logs of {step.Build} should be deleted.");
            Assert.That(await Store.ReadLogLinesAsync(new LogKey(builderName, number, 1, 1), 0, 10), Is.Empty);
            Assert.That(await Store.ReadLogLinesAsync(new LogKey(builderName, number, 1, 2), 0, 10), Is.Empty);
        }
    }

    private async Task AssertLogsKeptAsync(string builderName, int number)
    {
        var step = new StepKey(builderName, number, 1);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.GetLogsAsync(step), Has.Count.EqualTo(2), $"The logs of {step.Build} should be kept.");
            Assert.That(await Store.ReadLogLinesAsync(new LogKey(builderName, number, 1, 2), 0, 10), Has.Count.EqualTo(3));
        }
    }
}
