using BuildStatus.Storage.Sqlite.Internal;
using Dapper;
using NUnit.Framework;
using Driver = BuildStatus.Storage.Sqlite.Internal.BuildQueryPlanner.Driver;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>
/// The SQLite query plans behind <see cref="IBuildStore.QueryBuildsAsync"/> (their speed is measured by
/// <c>bench/BuildStatus.Benchmarks --history-filters</c>; the conformance suite checks their results).
/// </summary>
public sealed class HistoryFilterTests
{
    private static readonly HashSet<BuildResult> Failure = [BuildResult.Failure];

    private static IEnumerable<TestCaseData> Drivers()
    {
        yield return Case(new BuildQuery("linux"), Driver.Walk, "ux_builds_builder_number");
        yield return Case(new BuildQuery("linux") { StartedBefore = TestData.T0, Finished = true }, Driver.Walk, "ix_builds_builder_number_started");
        yield return Case(new BuildQuery("linux") { Revision = "abc", Branch = "main", Results = Failure }, Driver.Revision, "ix_source_stamps_revision_builder_number");
        yield return Case(new BuildQuery("linux") { Finished = false, Branch = "main" }, Driver.Unfinished, "ix_builds_builder_unfinished");
        yield return Case(new BuildQuery("linux") { PropertyName = "pr", PropertyValue = "7", Branch = "main" }, Driver.PropertyValue, "ix_build_properties_name_value_builder_number");
        yield return Case(new BuildQuery("linux") { Branch = "main", Results = Failure, PropertyName = "pr", BeforeNumber = 9 }, Driver.Branch, "ix_source_stamps_branch_builder_number");
        yield return Case(new BuildQuery("linux") { Results = Failure, PropertyName = "pr" }, Driver.Results, "ix_builds_builder_result");
        yield return Case(new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Failure, BuildResult.Warnings, BuildResult.Exception }, BeforeNumber = 9 }, Driver.Results, "ix_builds_builder_result");
        yield return Case(new BuildQuery("linux") { PropertyName = "pr", Finished = true }, Driver.PropertyName, "ix_build_properties_name_builder_number");
        yield return Case(new BuildQuery("linux") { Finished = false, Branch = "main", PropertyName = "pr", PropertyValue = "7" }, Driver.Unfinished, "ix_builds_builder_unfinished");
        yield return Case(new BuildQuery("linux") { Revision = "abc", PropertyName = "pr" }, Driver.Revision, "ix_source_stamps_revision_builder_number");

        static TestCaseData Case(BuildQuery query, Driver driver, string index) =>
            new TestCaseData(query, driver.ToString(), index).SetArgDisplayNames(driver.ToString(), index);
    }

    [TestCaseSource(nameof(Drivers))]
    public async Task Build_EachDriver_ReadsItsIndexNewestFirstWithoutSorting(BuildQuery query, string driverName, string index)
    {
        var driver = Enum.Parse<Driver>(driverName);
        await using var test = new TestStore();
        await SeedAsync(await test.OpenInitializedAsync());
        Assert.That(BuildQueryPlanner.Choose(query), Is.EqualTo(driver));
        var (sql, parameters) = BuildQueryPlanner.Build(query, driver);

        var plan = Explain(test, sql, parameters);

        Assert.That(plan, Does.Contain("USING INDEX " + index).Or.Contain("USING COVERING INDEX " + index), plan);
        Assert.That(plan, Does.Not.Contain("TEMP B-TREE"), plan);
        Assert.That(plan, Does.Not.Match(@"SCAN (b|s|p)\b"), plan);

        // The per-candidate checks (x: another filter, f: a duplicate stamp) look the candidate build up by id.
        Assert.That(plan, Does.Not.Match(@"SEARCH (x|f) USING (COVERING )?INDEX ix_"), plan);
        Assert.That(plan, Does.Not.Match(@"SCAN (x|f)\b"), plan);
    }

    [Test]
    public async Task Build_NarrowTimeRange_SortsOnlyTheRangeOnTheStartTimeIndex()
    {
        await using var test = new TestStore();
        await SeedAsync(await test.OpenInitializedAsync());
        var query = new BuildQuery("linux") { StartedAtOrAfter = TestData.T0, StartedBefore = TestData.T0.AddHours(1), Results = Failure };
        Assert.That(BuildQueryPlanner.MayUseTimeRange(query, BuildQueryPlanner.Choose(query)), Is.True);
        var (sql, parameters) = BuildQueryPlanner.Build(query, Driver.StartedWithin);
        var (countSql, countParameters) = BuildQueryPlanner.CountTimeRange(query);

        var plan = Explain(test, sql, parameters);
        var countPlan = Explain(test, countSql, countParameters);

        Assert.That(plan, Does.Contain("ix_builds_builder_started (builder_id=? AND started_at>? AND started_at<?)"), plan);
        Assert.That(countPlan, Does.Contain("ix_builds_builder_started (builder_id=? AND started_at>? AND started_at<?)"), countPlan);
        Assert.That(BuildQueryPlanner.MayUseTimeRange(query with { Revision = "abc" }, Driver.Revision), Is.False);
    }

    [Test]
    public async Task CountBranchAndResults_BranchWithResults_CountsTwoIndexRangesWithoutReadingRows()
    {
        await using var test = new TestStore();
        await SeedAsync(await test.OpenInitializedAsync());
        var query = new BuildQuery("linux") { Branch = "main", Results = new HashSet<BuildResult> { BuildResult.Failure, BuildResult.Warnings } };
        Assert.That(BuildQueryPlanner.MayDriveByResults(query, BuildQueryPlanner.Choose(query)), Is.True);
        Assert.That(BuildQueryPlanner.MayDriveByResults(query with { Results = null }, Driver.Branch), Is.False);
        var (sql, parameters) = BuildQueryPlanner.CountBranchAndResults(query);

        var plan = Explain(test, sql, parameters);

        Assert.That(plan, Does.Contain("COVERING INDEX ix_source_stamps_branch_builder_number (branch=? AND builder_id=? AND number>? AND number<?)"), plan);
        Assert.That(plan, Does.Contain("COVERING INDEX ix_builds_builder_result (builder_id=? AND result=? AND number>? AND number<?)"), plan);
        Assert.That(plan, Does.Not.Match(@"SCAN (builds|source_stamps)\b"), plan);

        // Driven by the results, the branch is checked per candidate through the candidate's own stamps.
        var (resultsSql, resultsParameters) = BuildQueryPlanner.Build(query, Driver.Results);
        var resultsPlan = Explain(test, resultsSql, resultsParameters);
        Assert.That(resultsPlan, Does.Contain("MERGE (UNION ALL)"), resultsPlan);
        Assert.That(resultsPlan, Does.Not.Match(@"SEARCH x USING (COVERING )?INDEX ix_"), resultsPlan);
        Assert.That(resultsPlan, Does.Not.Contain("TEMP B-TREE"), resultsPlan);
    }

    [Test]
    public async Task CountTimeRange_WideRange_FindsTheCeilingOnTheBlocksKeyNewestFirst()
    {
        await using var test = new TestStore();
        await SeedAsync(await test.OpenInitializedAsync());
        var query = new BuildQuery("linux") { StartedAtOrAfter = TestData.T0.AddDays(-1), StartedBefore = TestData.T0.AddHours(1), BeforeNumber = 2500 };
        var (sql, parameters) = BuildQueryPlanner.CountTimeRange(query);

        var plan = Explain(test, sql, parameters);

        Assert.That(plan, Does.Contain("SEARCH t USING PRIMARY KEY (builder_id=? AND block<?)"), plan);
        Assert.That(plan, Does.Not.Contain("TEMP B-TREE"), plan);
        Assert.That(plan, Does.Not.Match(@"SCAN (t|b)\b"), plan);
    }

    [Test]
    public async Task CountTimeRange_StartedBeforeFarInThePast_CeilingIsAboveTheNewestMatchWithinOneBlock()
    {
        // Builds 1..5000 start a minute apart; the range holds 1..2999 and 4321, whose start time is rewritten later.
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var builds = Enumerable.Range(1, 5000).Select(n => TestData.Build(number: n, startedAt: TestData.T0.AddMinutes(n), finishedAt: TestData.T0.AddDays(30))).ToList();
        await store.ApplyAsync(new WriteBatch { Builds = builds });
        var query = new BuildQuery("linux") { StartedBefore = TestData.T0.AddMinutes(3000) };
        var (sql, parameters) = BuildQueryPlanner.CountTimeRange(query);
        using var connection = test.Connect();

        var before = connection.QuerySingle<(long InRange, long? Ceiling)>(sql, parameters);
        await store.ApplyAsync(new WriteBatch { Builds = [builds[4320] with { StartedAt = TestData.T0 }] });
        var after = connection.QuerySingle<(long InRange, long? Ceiling)>(sql, parameters);
        var none = connection.QuerySingle<(long InRange, long? Ceiling)>(BuildQueryPlanner.CountTimeRange(query with { StartedBefore = TestData.T0 }).Sql, BuildQueryPlanner.CountTimeRange(query with { StartedBefore = TestData.T0 }).Parameters);

        Assert.Multiple(async () =>
        {
            Assert.That(before, Is.EqualTo((2999L, (long?)3072)), "2999 is in block 2 (2048..3071)");
            Assert.That(after, Is.EqualTo((3000L, (long?)5120)), "4321 is in block 4 (4096..5119)");
            Assert.That(none, Is.EqualTo((0L, (long?)null)));
            Assert.That((await store.QueryBuildsAsync(query with { Limit = 3 })).Select(b => b.Number), Is.EqualTo(new[] { 4321, 2999, 2998 }));
            Assert.That(await store.QueryBuildsAsync(query with { StartedBefore = TestData.T0 }), Is.Empty);
        });
    }

    [Test]
    public async Task ApplyAsync_BuildsCreatedWrittenAndRewritten_StartBlocksBoundEveryBuild()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var created = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            created.Add(await store.CreateBuildAsync(TestData.Build(startedAt: TestData.T0.AddDays(i))));
        }

        await store.ApplyAsync(new WriteBatch { Builds = [.. Enumerable.Range(1000, 3000).Select(n => TestData.Build(number: n, startedAt: TestData.T0.AddMinutes(n % 700)))] });
        await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(number: created[2], startedAt: TestData.T0.AddYears(-1)), TestData.Build(number: 2048, startedAt: TestData.T0.AddYears(-2))] });
        await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(builder: "mac", number: 1025, startedAt: TestData.T0.AddYears(2))] });

        using var connection = test.Connect();
        Assert.Multiple(() =>
        {
            Assert.That(
                TestData.Scalar(connection, "SELECT count(*) FROM builds b WHERE NOT EXISTS (SELECT 1 FROM build_start_blocks t WHERE t.builder_id = b.builder_id AND t.block = b.number / 1024 AND t.min_started <= b.started_at)"),
                Is.Zero);
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM build_start_blocks"), Is.EqualTo(5), "linux blocks 0..3, mac block 1");
            Assert.That(
                TestData.Scalar(connection, "SELECT count(*) FROM build_start_blocks t WHERE t.min_started <> (SELECT min(started_at) FROM builds b WHERE b.builder_id = t.builder_id AND b.number / 1024 = t.block)"),
                Is.Zero,
                "nothing deleted, no start time raised: the bounds are exact");
        });
    }

    [Test]
    public async Task QueryBuildsAsync_WideTimeRangeAgainstNumberOrder_ReturnsNewestMatchesByNumber()
    {
        // Builds 501 and up started before 'to': more than NarrowTimeRange, so that range walks the builder's history;
        // builds 1..500 started at or after it, few enough to be read by start time. Start times run against the
        // numbers, so neither may stop at the first build outside its range.
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var count = BuildQueryPlanner.NarrowTimeRange + 1000;
        var builds = Enumerable.Range(1, count).Select(n => TestData.Build(number: n, startedAt: TestData.T0.AddMinutes(count - n), finishedAt: TestData.T0.AddDays(30))).ToList();
        await store.ApplyAsync(new WriteBatch { Builds = builds });
        var to = TestData.T0.AddMinutes(count - 500);

        var before = await store.QueryBuildsAsync(new BuildQuery("linux") { StartedBefore = to, Limit = 3 });
        var after = await store.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = to, Limit = 3 });
        var paged = await store.QueryBuildsAsync(new BuildQuery("linux") { StartedBefore = to, BeforeNumber = 600, Limit = 2 });

        Assert.Multiple(() =>
        {
            Assert.That(before.Select(b => b.Number), Is.EqualTo(new[] { count, count - 1, count - 2 }));
            Assert.That(after.Select(b => b.Number), Is.EqualTo(new[] { 500, 499, 498 }));
            Assert.That(paged.Select(b => b.Number), Is.EqualTo(new[] { 599, 598 }));
        });
    }

    [Test]
    public async Task InitializeAsync_Version1HistoryWithStampsAndProperties_MigratesSoFiltersFindThem()
    {
        await using var test = new TestStore();
        using (var connection = test.Connect())
        {
            connection.Execute(SchemaMigrator.Migrations[0].Sql);
            connection.Execute(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;"
                + "INSERT INTO schema_version VALUES (1, '0001_initial', '2026-01-01T00:00:00Z');"
                + "INSERT INTO builders (id, name, last_number) VALUES (1, 'linux', 2), (2, 'mac', 1);"
                + "INSERT INTO builds (id, builder_id, number, host_name, started_at, finished_at, result, state_text) VALUES "
                + "(10, 1, 1, 'h', 0, 1, 2, 'done'), (11, 2, 1, 'h', 0, 1, 2, 'done'), (12, 1, 2, 'h', 0, NULL, NULL, 'building');"
                + "INSERT INTO source_stamps (build_id, position, repository, branch, revision) VALUES "
                + "(10, 0, 'r', 'topic', 'abc'), (11, 0, 'r', 'topic', 'abc'), (12, 0, 'r', 'main', 'def');"
                + "INSERT INTO build_properties (build_id, name, value, source) VALUES (10, 'pr', '7', 'c'), (11, 'pr', '7', 'c'), (12, 'pr', '8', 'c');");
        }

        var store = await test.OpenInitializedAsync();

        using var check = test.Connect();
        Assert.Multiple(async () =>
        {
            Assert.That(TestData.Scalar(check, "SELECT max(version) FROM schema_version"), Is.EqualTo(SqliteBuildStore.SchemaVersion));
            Assert.That(TestData.Scalar(check, "SELECT count(*) FROM source_stamps WHERE builder_id IS NULL OR number IS NULL"), Is.Zero);
            Assert.That(TestData.Scalar(check, "SELECT count(*) FROM build_properties WHERE builder_id IS NULL OR number IS NULL"), Is.Zero);
            Assert.That((await store.QueryBuildsAsync(new BuildQuery("linux") { Branch = "topic" })).Select(b => b.Number), Is.EqualTo(new[] { 1 }));
            Assert.That((await store.QueryBuildsAsync(new BuildQuery("mac") { Revision = "abc" })).Select(b => b.Number), Is.EqualTo(new[] { 1 }));
            Assert.That((await store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "pr", PropertyValue = "8" })).Select(b => b.Number), Is.EqualTo(new[] { 2 }));
            Assert.That((await store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "pr" })).Select(b => b.Number), Is.EqualTo(new[] { 2, 1 }));
            Assert.That((await store.QueryBuildsAsync(new BuildQuery("linux") { Finished = false })).Select(b => b.Number), Is.EqualTo(new[] { 2 }));
        });
    }

    [Test]
    public async Task ApplyAsync_StampsAndProperties_CarryTheirBuildsBuilderAndNumber()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var created = await store.CreateBuildAsync(TestData.Build(branch: "topic", properties: new Dictionary<string, PropertyValue> { ["pr"] = new("1", "c") }));
        await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(number: 41, branch: "other"), TestData.Build(builder: "mac", number: 3)] });

        using var connection = test.Connect();
        Assert.Multiple(() =>
        {
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM source_stamps s JOIN builds b ON b.id = s.build_id WHERE s.builder_id IS b.builder_id AND s.number IS b.number"), Is.EqualTo(3));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM build_properties p JOIN builds b ON b.id = p.build_id WHERE p.builder_id IS b.builder_id AND p.number IS b.number"), Is.EqualTo(3));
            Assert.That(TestData.Scalar(connection, $"SELECT number FROM source_stamps WHERE branch = 'topic'"), Is.EqualTo(created));
        });
    }

    // SQLite's choice between indexes depends on their sizes, so the plans are checked on a history of some size:
    // 3,000 builds of one builder, most on one branch, every one with two properties.
    private static async Task SeedAsync(SqliteBuildStore store)
    {
        var builds = Enumerable.Range(1, 3000).Select(n => TestData.Build(
            number: n,
            finishedAt: n % 100 == 0 ? null : TestData.T0.AddHours(1),
            result: (BuildResult)(n % 3),
            branch: n % 10 == 0 ? "topic" : "main",
            revision: "r" + n,
            properties: new Dictionary<string, PropertyValue> { ["pr"] = new((n % 50).ToString(System.Globalization.CultureInfo.InvariantCulture), "c"), ["os"] = new("linux", "w") }));
        await store.ApplyAsync(new WriteBatch { Builds = [.. builds] });
    }

    private static string Explain(TestStore test, string sql, DynamicParameters parameters)
    {
        using var connection = test.Connect();
        var rows = connection.Query("EXPLAIN QUERY PLAN " + sql, parameters);
        return string.Join('\n', rows.Select(r => (string)r.detail));
    }
}
