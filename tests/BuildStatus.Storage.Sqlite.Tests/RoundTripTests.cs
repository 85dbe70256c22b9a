using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class RoundTripTests
{
    private const string Weird = "nul\0 'quote' \"dq\" ; DROP TABLE builds; -- 🚀 éü 漢字 \r\n\t\u001b";

    [Test]
    public async Task ApplyAsync_FullSnapshots_ReadBackVerbatim()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var started = new DateTimeOffset(2026, 3, 1, 10, 0, 0, 123, TimeSpan.FromHours(2));
        var build = new StoredBuild(
            Weird,
            7,
            "host " + Weird,
            Weird,
            [new SourceStamp("repo", "main", "r1", "p", "cb"), new SourceStamp("repo2")],
            [new BuildChange("r1", "bob " + Weird, null), new BuildChange("r0", "carol", Weird)],
            ["bob", Weird],
            "worker " + Weird,
            new Dictionary<string, PropertyValue> { [Weird] = new(Weird, "Build"), ["empty"] = new(string.Empty, "Scheduler") },
            started,
            started.AddMinutes(5),
            Weird,
            BuildResult.Warnings);
        var step = new StoredStep(
            new StepKey(Weird, 7, 3),
            Weird,
            "done",
            started,
            null,
            BuildResult.Failure,
            [new StepUrl(Weird, "https://x/" + Weird)],
            new Dictionary<string, double> { ["tests"] = 42, ["nan"] = double.NaN, ["inf"] = double.PositiveInfinity },
            true);
        var log = new StoredLog(new LogKey(Weird, 7, 3, 2), Weird, LogKind.Html, true, 12, 345);
        var worker = new StoredWorker(Weird, null, new Dictionary<string, string> { [Weird] = Weird }, true, started);

        await store.ApplyAsync(new WriteBatch
        {
            Builders = [new StoredBuilder(Weird, Weird, [Weird, "b"])],
            Workers = [worker],
            Builds = [build],
            Steps = [step],
            Logs = [log],
        });

        var storedBuild = await store.GetBuildAsync(build.Key);
        var storedStep = (await store.GetStepsAsync(build.Key)).Single();
        Assert.Multiple(async () =>
        {
            Assert.That((await store.GetBuilderAsync(Weird))!.Tags, Is.EqualTo(new[] { Weird, "b" }));
            Assert.That((await store.GetBuilderAsync(Weird))!.Description, Is.EqualTo(Weird));
            var storedWorker = await store.GetWorkerAsync(Weird);
            Assert.That(storedWorker!.Info, Is.EqualTo(worker.Info));
            Assert.That(storedWorker.LastSeen, Is.EqualTo(started));
            Assert.That(storedWorker.LastSeen!.Value.Offset, Is.EqualTo(TimeSpan.Zero));
            Assert.That(storedBuild, Is.Not.Null);
            Assert.That(storedBuild!.SourceStamps, Is.EqualTo(build.SourceStamps));
            Assert.That(storedBuild.Changes, Is.EqualTo(build.Changes));
            Assert.That(storedBuild.ResponsibleUsers, Is.EqualTo(build.ResponsibleUsers));
            Assert.That(storedBuild.Properties, Is.EquivalentTo(build.Properties));
            Assert.That(storedBuild with { SourceStamps = build.SourceStamps, Changes = build.Changes, ResponsibleUsers = build.ResponsibleUsers, Properties = build.Properties }, Is.EqualTo(build));
            Assert.That(storedBuild.StartedAt.Offset, Is.EqualTo(TimeSpan.Zero));
            Assert.That(storedStep.Urls, Is.EqualTo(step.Urls));
            Assert.That(storedStep.Statistics, Is.EquivalentTo(step.Statistics));
            Assert.That(storedStep with { Urls = step.Urls, Statistics = step.Statistics }, Is.EqualTo(step));
            Assert.That(await store.GetLogAsync(log.Key), Is.EqualTo(log));
            Assert.That(await store.GetLogsAsync(step.Key), Is.EqualTo(new[] { log }));
        });
    }

    [Test]
    public async Task ApplyAsync_BuildUpdated_ReplacesStampsAndProperties()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var number = await store.CreateBuildAsync(TestData.Build(branch: "old", properties: new Dictionary<string, PropertyValue> { ["a"] = new("1", "x") }));

        await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(number: number, branch: "new", properties: new Dictionary<string, PropertyValue> { ["b"] = new("2", "y") })] });

        var build = await store.GetBuildAsync(new BuildKey("linux", number));
        Assert.Multiple(() =>
        {
            Assert.That(build!.SourceStamps.Select(s => s.Branch), Is.EqualTo(new[] { "new" }));
            Assert.That(build.Properties.Keys, Is.EqualTo(new[] { "b" }));
        });
    }

    [Test]
    public async Task QueryBuildsAsync_Filters_SelectMatchingBuildsNewestFirst()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        for (var i = 1; i <= 20; i++)
        {
            var n = await store.CreateBuildAsync(TestData.Build(
                startedAt: TestData.T0.AddHours(i),
                branch: i % 2 == 0 ? "main" : "dev",
                revision: $"rev{i}",
                properties: new Dictionary<string, PropertyValue> { ["os"] = new(i % 3 == 0 ? "mac" : "linux", "Worker") }));
            if (i <= 15)
            {
                await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(number: n, startedAt: TestData.T0.AddHours(i), finishedAt: TestData.T0.AddHours(i + 1), result: (BuildResult)(i % 3), branch: i % 2 == 0 ? "main" : "dev", revision: $"rev{i}", properties: new Dictionary<string, PropertyValue> { ["os"] = new(i % 3 == 0 ? "mac" : "linux", "Worker") })] });
            }
        }

        async Task<int[]> Numbers(BuildQuery query) => (await store.QueryBuildsAsync(query)).Select(b => b.Number).ToArray();
        var q = new BuildQuery("linux");

        Assert.Multiple(async () =>
        {
            Assert.That(await Numbers(q with { Limit = 3 }), Is.EqualTo(new[] { 20, 19, 18 }));
            Assert.That(await Numbers(q with { Limit = 3, BeforeNumber = 18 }), Is.EqualTo(new[] { 17, 16, 15 }));
            Assert.That(await Numbers(q with { Finished = false }), Is.EqualTo(new[] { 20, 19, 18, 17, 16 }));
            Assert.That(await Numbers(q with { Finished = true, Limit = 2 }), Is.EqualTo(new[] { 15, 14 }));
            Assert.That(await Numbers(q with { Results = new HashSet<BuildResult> { BuildResult.Failure } }), Is.EqualTo(new[] { 14, 11, 8, 5, 2 }));
            Assert.That(await Numbers(q with { Results = new HashSet<BuildResult>() }), Is.Empty);
            Assert.That(await Numbers(q with { StartedAtOrAfter = TestData.T0.AddHours(3), StartedBefore = TestData.T0.AddHours(6) }), Is.EqualTo(new[] { 5, 4, 3 }));
            Assert.That(await Numbers(q with { Branch = "dev", Limit = 3 }), Is.EqualTo(new[] { 19, 17, 15 }));
            Assert.That(await Numbers(q with { Revision = "rev7" }), Is.EqualTo(new[] { 7 }));
            Assert.That(await Numbers(q with { PropertyName = "os", PropertyValue = "mac", BeforeNumber = 10 }), Is.EqualTo(new[] { 9, 6, 3 }));
            Assert.That(await Numbers(q with { PropertyName = "os", Limit = 1 }), Is.EqualTo(new[] { 20 }));
            Assert.That(await Numbers(q with { PropertyName = "missing" }), Is.Empty);
            Assert.That(await Numbers(new BuildQuery("nobody")), Is.Empty);
        });
    }

    [Test]
    public async Task QueryBuildsAsync_BranchFilter_UsesAnIndex()
    {
        await using var test = new TestStore();
        await test.OpenInitializedAsync();
        using var connection = test.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN SELECT b.id FROM builds b WHERE b.builder_id = 1 AND EXISTS (SELECT 1 FROM source_stamps s WHERE s.build_id = b.id AND s.branch = 'x') "
            + "AND EXISTS (SELECT 1 FROM build_properties p WHERE p.build_id = b.id AND p.name = 'os' AND p.value = 'mac') ORDER BY b.number DESC LIMIT 50";
        var plan = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                plan.Add(reader.GetString(3));
            }
        }

        Assert.That(plan, Has.None.Match("SCAN (s|p|source_stamps|build_properties)\\b").And.None.Contains("TEMP B-TREE"), string.Join(" | ", plan));
    }

    [Test]
    public async Task GetUnfinishedBuildsAsync_ReturnsThisHostsUnfinishedBuildsOrdered()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        await store.CreateBuildAsync(TestData.Build("b", host: "me"));
        await store.CreateBuildAsync(TestData.Build("a", host: "me"));
        await store.CreateBuildAsync(TestData.Build("a", host: "other"));
        var finished = await store.CreateBuildAsync(TestData.Build("a", host: "me"));
        await store.CreateBuildAsync(TestData.Build("a", host: "me"));
        await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build("a", finished, host: "me", finishedAt: TestData.T0)] });

        var builds = await store.GetUnfinishedBuildsAsync("me");

        Assert.That(builds.Select(b => b.Key), Is.EqualTo(new[] { new BuildKey("a", 1), new BuildKey("a", 4), new BuildKey("b", 1) }));
    }
}
