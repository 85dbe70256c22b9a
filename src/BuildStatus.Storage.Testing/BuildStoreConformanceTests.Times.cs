using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <summary>Times: one precision, whole microseconds (<see cref="StorageTime"/>), in every field and every query.</summary>
public abstract partial class BuildStoreConformanceTests
{
    // A start with every microsecond digit set, and a finish with sub-microsecond ticks a backend must drop.
    private static readonly DateTimeOffset MicrosecondTime = T0.AddTicks(1_234_567_8_0);
    private static readonly DateTimeOffset SubMicrosecondTime = T0.AddHours(1).AddTicks(7_654_321_0 + 9);

    /// <summary>Build, step and worker times keep every microsecond, and lose only finer ticks (truncated towards the past).</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_TimesInEveryField_KeepMicrosecondsExactly()
    {
        var build = Finish(NewBuild("linux", 1) with { StartedAt = MicrosecondTime.ToOffset(TimeSpan.FromHours(3)) }, SubMicrosecondTime);
        var step = NewStep(new StepKey("linux", 1, 1)) with { StartedAt = SubMicrosecondTime.AddTicks(-3), FinishedAt = MicrosecondTime.AddTicks(5) };
        var worker = new StoredWorker("worker-1", null, new Dictionary<string, string>(StringComparer.Ordinal), IsConnected: false, SubMicrosecondTime.AddTicks(-1));

        await Store.ApplyAsync(new WriteBatch { Builds = [build], Steps = [step], Workers = [worker] });

        var storedBuild = await Store.GetBuildAsync(build.Key);
        var storedStep = (await Store.GetStepsAsync(build.Key)).Single();
        var storedWorker = await Store.GetWorkerAsync("worker-1");
        Assert.Multiple(() =>
        {
            Assert.That(storedBuild!.StartedAt.UtcTicks, Is.EqualTo(MicrosecondTime.UtcTicks), "a whole microsecond is kept exactly");
            Assert.That(storedBuild.FinishedAt!.Value.UtcTicks, Is.EqualTo(SubMicrosecondTime.UtcTicks - 9), "finer ticks are truncated");
            Assert.That(storedStep.StartedAt!.Value.UtcTicks, Is.EqualTo(SubMicrosecondTime.UtcTicks - 9));
            Assert.That(storedStep.FinishedAt!.Value.UtcTicks, Is.EqualTo(MicrosecondTime.UtcTicks));
            Assert.That(storedWorker!.LastSeen!.Value.UtcTicks, Is.EqualTo(SubMicrosecondTime.UtcTicks - 9));
            Assert.That(storedBuild.StartedAt, Is.EqualTo(StorageTime.Truncate(build.StartedAt)));
            Assert.That(storedBuild.StartedAt.Offset, Is.EqualTo(TimeSpan.Zero));
        });
    }

    /// <summary>A build created by <see cref="IBuildStore.CreateBuildAsync"/> keeps its start time to the microsecond.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_StartTime_KeepsMicrosecondsExactly()
    {
        var number = await Store.CreateBuildAsync(NewBuild("linux", 0) with { StartedAt = MicrosecondTime });

        var stored = await Store.GetBuildAsync(new BuildKey("linux", number));
        Assert.That(stored!.StartedAt.UtcTicks, Is.EqualTo(MicrosecondTime.UtcTicks));
    }

    /// <summary>
    /// Time-range bounds compare exactly, even when they are finer than the stored precision: one tick after a
    /// build's start excludes it, one tick before includes it.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_BoundsOneTickFromAStart_CompareExactly()
    {
        var t = MicrosecondTime;
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1) with { StartedAt = t }] });

        async Task<int> CountAsync(DateTimeOffset? from, DateTimeOffset? before)
            => (await Store.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = from, StartedBefore = before })).Count;

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(await CountAsync(t, null), Is.EqualTo(1), "StartedAtOrAfter = t");
            Assert.That(await CountAsync(t.AddTicks(-1), null), Is.EqualTo(1), "StartedAtOrAfter = t - 1 tick");
            Assert.That(await CountAsync(t.AddTicks(1), null), Is.Zero, "StartedAtOrAfter = t + 1 tick");
            Assert.That(await CountAsync(null, t), Is.Zero, "StartedBefore = t");
            Assert.That(await CountAsync(null, t.AddTicks(1)), Is.EqualTo(1), "StartedBefore = t + 1 tick");
            Assert.That(await CountAsync(t.AddTicks(-1), t.AddTicks(1)), Is.EqualTo(1), "t - 1 tick .. t + 1 tick");
        });
    }

    /// <summary>The age cutoff of retention compares exactly too: a build finished one tick before it is pruned, one at it is kept.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_BuildHorizonOneTickFromAFinish_ComparesExactly()
    {
        var finished = MicrosecondTime;
        await Store.ApplyAsync(new WriteBatch { Builds = [Finish(NewBuild("linux", 1), finished), Finish(NewBuild("linux", 2), finished.AddTicks(StorageTime.TicksPerUnit))] });
        var horizon = TimeSpan.FromHours(1);

        // The cutoff (now - horizon) is one tick after build 1's finish and one microsecond less a tick before build 2's.
        await Store.PruneAsync(new RetentionPolicy { BuildHorizon = horizon }, finished.AddTicks(1) + horizon);

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(await Store.GetBuildAsync(new BuildKey("linux", 1)), Is.Null, "finished before the cutoff");
            Assert.That(await Store.GetBuildAsync(new BuildKey("linux", 2)), Is.Not.Null, "finished after the cutoff");
        });
    }
}
