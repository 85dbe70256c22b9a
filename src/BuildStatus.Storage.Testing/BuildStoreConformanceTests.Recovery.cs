using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content><see cref="IBuildStore.GetUnfinishedBuildsAsync"/> for recovery.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>Only the host's unfinished builds are returned, ordered by builder (ordinal) then number.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetUnfinishedBuildsAsync_MixedHostsAndStates_ReturnsHostsUnfinishedInOrder()
    {
        await Store.ApplyAsync(new WriteBatch
        {
            Builds =
            [
                NewBuild("windows", 2),
                NewBuild("linux", 10),
                NewBuild("Linux", 4),
                NewBuild("linux", 3),
                Finish(NewBuild("linux", 5), T0.AddHours(1)),
                NewBuild("linux", 6, hostName: "host-b"),
                NewBuild("linux", 7, hostName: "HOST-A"),
                NewBuild("windows", 1),
            ],
        });

        var builds = await Store.GetUnfinishedBuildsAsync("host-a");

        Assert.That(builds.Select(b => (b.BuilderName, b.Number)), Is.EqualTo(new[] { ("Linux", 4), ("linux", 3), ("linux", 10), ("windows", 1), ("windows", 2) }));
        AssertSameBuild(builds[2], NewBuild("linux", 10));
        Assert.That((await Store.GetUnfinishedBuildsAsync("host-b")).Select(b => b.Number), Is.EqualTo(new[] { 6 }));
        Assert.That(await Store.GetUnfinishedBuildsAsync("host-c"), Is.Empty);
    }

    /// <summary>A build created by <see cref="IBuildStore.CreateBuildAsync"/> is unfinished until a later upsert finishes it.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetUnfinishedBuildsAsync_BuildFinishedLater_NoLongerReturned()
    {
        var number = await Store.CreateBuildAsync(NewBuild("linux", 0));
        Assert.That((await Store.GetUnfinishedBuildsAsync("host-a")).Select(b => b.Number), Is.EqualTo(new[] { number }));

        await Store.ApplyAsync(new WriteBatch { Builds = [Finish(NewBuild("linux", number), T0.AddHours(1), BuildResult.Retry)] });

        Assert.That(await Store.GetUnfinishedBuildsAsync("host-a"), Is.Empty);
    }
}
