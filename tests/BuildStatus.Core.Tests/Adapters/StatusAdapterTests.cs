using BuildStatus.Core.Tests.Support;

namespace BuildStatus.Core.Tests.Adapters;

[TestFixture]
public sealed class StatusAdapterTests
{
    [Test]
    public async Task ToPersistentAndBack_LiveObjects_RoundTrip()
    {
        await using var t = await TestHost.StartAsync();
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        var worker = t.Host.AddWorker("w");
        var adapter = t.Host.Adapter;
        await t.Host.FlushAsync();

        var pBuilder = adapter.ToPersistent(build.Builder);
        var pBuild = adapter.ToPersistent(build);
        var pStep = adapter.ToPersistent(step);
        var pLog = adapter.ToPersistent(log);
        var pWorker = adapter.ToPersistent(worker);

        Assert.Multiple(() =>
        {
            Assert.That((pBuilder.Name, pBuild.Number, pStep.Name, pLog.Name, pWorker.Name), Is.EqualTo(("b", 1, "compile", "stdio", "w")));
            Assert.That(adapter.ToStatus(pBuilder), Is.SameAs(build.Builder));
            Assert.That(adapter.ToStatus(pBuild), Is.SameAs(build));
            Assert.That(adapter.ToStatus(pStep), Is.SameAs(step));
            Assert.That(adapter.ToStatus(pLog), Is.SameAs(log));
            Assert.That(adapter.ToStatus(pWorker), Is.SameAs(worker));
            Assert.That(adapter.Adapt<IPersistentBuild>(build)!.Number, Is.EqualTo(1));
            Assert.That(adapter.Adapt<IBuildStatus>(pBuild), Is.SameAs(build));
            Assert.That(adapter.Adapt<IStepStatus>(pStep), Is.SameAs(step));
            Assert.That(adapter.Adapt<IBuildStatus>(build), Is.SameAs(build), "an object already of the type is returned as is");
            Assert.That(adapter.Adapt<IPersistentLog>(pBuild), Is.Null, "no conversion between unrelated kinds");
        });
        await build.FinishAsync();
    }

    [Test]
    public async Task ToStatus_BuildNoLongerInRam_ReturnsNull_AndLoadBuildStatusReadsStorage()
    {
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 0);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendAsync(LogChannel.Stdout, "one\ntwo\nthree\n");
        step.SetStatistic("tests", 3);
        step.Finish(BuildResult.Success);
        build.SetProperty("p", "v");
        await build.FinishAsync();
        var stored = await t.Host.History.GetBuildAsync("b", 1);

        Assert.That(t.Host.Adapter.ToStatus(stored!), Is.Null);
        var loaded = await t.Host.Adapter.LoadBuildStatusAsync("b", 1);

        Assert.That(loaded, Is.Not.Null.And.Not.SameAs(build));
        Assert.Multiple(() =>
        {
            Assert.That(loaded!.Result, Is.EqualTo(BuildResult.Success));
            Assert.That(loaded.Builder, Is.SameAs(build.Builder), "the builder is still registered, so the live one is used");
            Assert.That(loaded.GetProperty("p")!.Value, Is.EqualTo("v"));
            Assert.That(loaded.Steps.Single().Statistics["tests"], Is.EqualTo(3));
            Assert.That(loaded.Steps.Single().Logs.Single().Tail.Select(l => l.Text), Is.EqualTo(new[] { "one", "two", "three" }));
            Assert.That(loaded.WaitUntilFinishedAsync().IsCompleted, Is.True);
        });
        Assert.That(t.Host.Adapter.ToPersistent(loaded!).Number, Is.EqualTo(1), "read-only status adapts back to storage too");
        Assert.That(await t.Host.Adapter.LoadBuildStatusAsync("b", 99), Is.Null);
    }

    [Test]
    public async Task ToPersistent_ForeignObject_ThrowsArgumentException()
    {
        await using var one = await TestHost.StartAsync();
        await using var two = await TestHost.StartAsync();
        var build = await one.Host.AddBuilder("b").StartBuildAsync();

        var ex = Assert.Throws<ArgumentException>(() => two.Host.Adapter.ToPersistent(build));
        Assert.That(ex!.ParamName, Is.EqualTo("build"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => two.Host.Adapter.ToPersistent((IBuildStatus)null!))!.ParamName, Is.EqualTo("build"));
        await build.FinishAsync();
    }

    [Test]
    public async Task History_QueryBuilds_PagesNewestFirstByKey()
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        for (var i = 0; i < 7; i++)
        {
            var build = await builder.StartBuildAsync(new BuildStartInfo { SourceStamps = [new SourceStamp("repo", i % 2 == 0 ? "main" : "dev")] });
            await build.FinishAsync(i == 3 ? BuildResult.Failure : BuildResult.Success);
        }

        var page = await t.Host.History.QueryBuildsAsync(new BuildQuery("b") { Limit = 3 });
        Assert.That(page.Builds.Select(b => b.Number), Is.EqualTo(new[] { 7, 6, 5 }));
        page = await t.Host.History.QueryBuildsAsync(page.Next!);
        Assert.That(page.Builds.Select(b => b.Number), Is.EqualTo(new[] { 4, 3, 2 }));

        var all = new List<int>();
        await foreach (var build in t.Host.History.EnumerateBuildsAsync(new BuildQuery("b") { Limit = 2, Branch = "main" }))
        {
            all.Add(build.Number);
        }

        Assert.That(all, Is.EqualTo(new[] { 7, 5, 3, 1 }));
        var failed = await (await t.Host.History.GetBuilderAsync("b"))!.QueryBuildsAsync(new BuildQuery("ignored") { Results = new HashSet<BuildResult> { BuildResult.Failure } });
        Assert.That(failed.Builds.Single().Number, Is.EqualTo(4));
        var last = await (await t.Host.History.GetBuilderAsync("b"))!.GetLastFinishedBuildAsync();
        Assert.That(last!.Number, Is.EqualTo(7));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => t.Host.History.QueryBuildsAsync(new BuildQuery("b") { Limit = 0 }));
    }
}
