using BuildStatus.Core.Tests.Support;
using BuildStatus.Process;

namespace BuildStatus.Core.Tests.Process;

/// <summary>What a builder does when one of its builds finishes: recent builds by number, and its lock order.</summary>
[TestFixture]
public sealed class BuilderRecentBuildsTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task LastFinishedBuild_LowerNumberFinishesLater_IsTheHighestNumberLiveAndInHistory()
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        var first = await builder.StartBuildAsync();
        var second = await builder.StartBuildAsync();

        await second.FinishAsync(BuildResult.Success);
        await first.FinishAsync(BuildResult.Failure);
        var stored = await builder.Persistent.GetLastFinishedBuildAsync();

        Assert.Multiple(() =>
        {
            Assert.That(builder.LastFinishedBuild, Is.SameAs(second));
            Assert.That(builder.RecentBuilds, Is.EqualTo(new IBuildStatus[] { second, first }));
            Assert.That(stored!.Number, Is.EqualTo(builder.LastFinishedBuild!.Number));
        });
    }

    [Test]
    public async Task RecentBuilds_FullAndALowerNumberFinishes_KeepsTheHighestNumbers()
    {
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 2);
        var builder = t.Host.AddBuilder("b");
        var builds = new List<IBuild>();
        for (var i = 0; i < 4; i++)
        {
            builds.Add(await builder.StartBuildAsync());
        }

        await builds[3].FinishAsync();
        await builds[1].FinishAsync();
        await builds[2].FinishAsync();
        await builds[0].FinishAsync();

        Assert.Multiple(() =>
        {
            Assert.That(builder.RecentBuilds.Select(b => b.Number), Is.EqualTo(new[] { 4, 3 }));
            Assert.That(builder.GetBuild(1), Is.Null, "build 1 finished after two higher numbers: it is only in history");
        });
    }

    [Test]
    public async Task OnBuildFinished_BuildLockHeldElsewhere_DoesNotHoldTheBuilderLockWhileWaitingForIt()
    {
        await using var t = await TestHost.StartAsync();
        var builder = (Builder)t.Host.AddBuilder("b");
        var build = (Build)await builder.StartBuildAsync();
        var finishing = new Thread(() => builder.OnBuildFinished(build)) { IsBackground = true };
        bool builderLockFree;

        build.Sync.Enter();
        try
        {
            finishing.Start();

            // Wait until the builder's thread blocks on the build's lock (the only lock it can wait for here).
            var deadline = DateTime.UtcNow + Limit;
            while ((finishing.ThreadState & ThreadState.WaitSleepJoin) == 0 && DateTime.UtcNow < deadline)
            {
                Thread.Yield();
            }

            Assert.That(finishing.ThreadState & ThreadState.WaitSleepJoin, Is.Not.Zero, "OnBuildFinished should read the build, and so wait for its lock");
            builderLockFree = builder.SyncRoot.TryEnter();
            if (builderLockFree)
            {
                builder.SyncRoot.Exit();
            }
        }
        finally
        {
            build.Sync.Exit();
        }

        Assert.That(finishing.Join(Limit), Is.True);
        Assert.That(builderLockFree, Is.True, "the builder lock must not be held while a build's lock is taken");
        await build.FinishAsync();
    }
}
