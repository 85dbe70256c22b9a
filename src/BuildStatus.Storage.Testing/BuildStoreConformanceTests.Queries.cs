using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content><see cref="IBuildStore.QueryBuildsAsync"/>: order, keyset paging and filters.</content>
public abstract partial class BuildStoreConformanceTests
{
    private const int QueryBuildCount = 30;

    /// <summary>Without filters, builds come newest first, at most the limit.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_NoFilters_ReturnsNewestFirstUpToLimit()
    {
        await SeedQueryBuildsAsync();

        var page = await Store.QueryBuildsAsync(new BuildQuery("linux") { Limit = 5 });

        Assert.That(Numbers(page), Is.EqualTo(new[] { 30, 29, 28, 27, 26 }));
        AssertSameBuild(page[0], QueryBuild(30));
    }

    /// <summary>The limit bounds: 1 returns the newest only; the maximum returns everything there is; the default is 50.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_LimitBounds_ReturnAtMostLimit()
    {
        await SeedQueryBuildsAsync();
        await Store.ApplyAsync(new WriteBatch { Builds = [.. Enumerable.Range(QueryBuildCount + 1, 40).Select(n => NewBuild("linux", n))] });

        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Limit = 1 })), Is.EqualTo(new[] { 70 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux"))), Is.EqualTo(Enumerable.Range(21, 50).Reverse()));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Limit = BuildQuery.MaxLimit })), Is.EqualTo(Enumerable.Range(1, 70).Reverse()));
    }

    /// <summary>Paging with <see cref="BuildQuery.BeforeNumber"/> visits every build once, newest first, even with gaps in the numbers.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_KeysetPaging_VisitsEveryBuildOnce()
    {
        await SeedQueryBuildsAsync();
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 100), NewBuild("linux", 57)] });

        var seen = await PageAllAsync(new BuildQuery("linux") { Limit = 7 });

        Assert.That(seen, Is.EqualTo(new[] { 100, 57 }.Concat(Enumerable.Range(1, QueryBuildCount).Reverse())));
    }

    /// <summary><see cref="BuildQuery.BeforeNumber"/> is exclusive; beyond the newest it changes nothing; at 1 it returns nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_BeforeNumber_IsExclusive()
    {
        await SeedQueryBuildsAsync();

        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { BeforeNumber = 10, Limit = 3 })), Is.EqualTo(new[] { 9, 8, 7 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { BeforeNumber = 1000, Limit = 2 })), Is.EqualTo(new[] { 30, 29 }));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { BeforeNumber = 1 }), Is.Empty);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { BeforeNumber = 0 }), Is.Empty);
    }

    /// <summary>An unknown builder has no builds, and a builder's query never returns another builder's builds.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_UnknownOrOtherBuilder_ReturnsOnlyThatBuildersBuilds()
    {
        await SeedQueryBuildsAsync();
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux-arm", 1), NewBuild("Linux", 2)] });

        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("nope")), Is.Empty);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linu")), Is.Empty);
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("Linux"))), Is.EqualTo(new[] { 2 }));
        Assert.That((await Store.QueryBuildsAsync(new BuildQuery("linux") { Limit = BuildQuery.MaxLimit })).Select(b => b.BuilderName).Distinct(), Is.EqualTo(new[] { "linux" }));
    }

    /// <summary>A results filter returns finished builds with one of the results; unfinished builds never match.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_ResultsFilter_ReturnsFinishedBuildsWithThoseResults()
    {
        await SeedQueryBuildsAsync();

        await AssertQueryAsync(new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Failure } }, b => b.Result == BuildResult.Failure);
        await AssertQueryAsync(new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Success, BuildResult.Warnings } }, b => b.Result is BuildResult.Success or BuildResult.Warnings);
        await AssertQueryAsync(new BuildQuery("linux") { Results = Enum.GetValues<BuildResult>().ToHashSet() }, b => b.IsFinished);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Retry } }), Is.Empty);
    }

    /// <summary>The finished filter returns only finished or only unfinished builds.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_FinishedFilter_SplitsFinishedAndUnfinished()
    {
        await SeedQueryBuildsAsync();

        await AssertQueryAsync(new BuildQuery("linux") { Finished = true }, b => b.IsFinished);
        await AssertQueryAsync(new BuildQuery("linux") { Finished = false }, b => !b.IsFinished);
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Finished = false })), Is.EqualTo(new[] { 30, 25, 20, 15, 10, 5 }));
    }

    /// <summary>The time range includes its start and excludes its end, whatever offset the bounds are given in.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_TimeRange_StartInclusiveEndExclusive()
    {
        await SeedQueryBuildsAsync();
        var from = QueryBuild(10).StartedAt;
        var to = QueryBuild(20).StartedAt;

        await AssertQueryAsync(new BuildQuery("linux") { StartedAtOrAfter = from, StartedBefore = to }, b => b.Number is >= 10 and < 20);
        await AssertQueryAsync(new BuildQuery("linux") { StartedAtOrAfter = from.ToOffset(TimeSpan.FromHours(9)), StartedBefore = to.ToOffset(TimeSpan.FromHours(-5)) }, b => b.Number is >= 10 and < 20);
        await AssertQueryAsync(new BuildQuery("linux") { StartedAtOrAfter = from.AddMilliseconds(1) }, b => b.Number > 10);
        await AssertQueryAsync(new BuildQuery("linux") { StartedBefore = to.AddMilliseconds(1) }, b => b.Number <= 20);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = from, StartedBefore = from }), Is.Empty);
    }

    /// <summary>The branch filter matches a build when any of its source stamps has the branch (exactly, no wildcards).</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_BranchFilter_MatchesAnySourceStampExactly()
    {
        await SeedQueryBuildsAsync();

        await AssertQueryAsync(new BuildQuery("linux") { Branch = "main" }, b => b.SourceStamps.Any(s => s.Branch == "main"));
        await AssertQueryAsync(new BuildQuery("linux") { Branch = "release/1.0" }, b => b.SourceStamps.Any(s => s.Branch == "release/1.0"));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Branch = "feat_%" })), Is.EqualTo(new[] { 28, 21, 14, 7 }));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { Branch = "feat%" }), Is.Empty);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { Branch = "MAIN" }), Is.Empty);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { Branch = "ma" }), Is.Empty);
    }

    /// <summary>The revision filter matches a build when any of its source stamps has the revision.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_RevisionFilter_MatchesAnySourceStamp()
    {
        await SeedQueryBuildsAsync();

        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Revision = "rev12" })), Is.EqualTo(new[] { 12 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Revision = "shared-lib-rev" })), Is.EqualTo(new[] { 28, 21, 14, 7 }));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { Revision = "rev1_" }), Is.Empty);
    }

    /// <summary>The property filter matches builds that have the property, and with a value, only that exact value.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_PropertyFilter_MatchesNameAndExactValue()
    {
        await SeedQueryBuildsAsync();

        await AssertQueryAsync(new BuildQuery("linux") { PropertyName = "nightly" }, b => b.Properties.ContainsKey("nightly"));
        await AssertQueryAsync(new BuildQuery("linux") { PropertyName = "nightly", PropertyValue = "yes" }, b => b.Properties.TryGetValue("nightly", out var v) && v.Value == "yes");
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "nightly", PropertyValue = "YES" }), Is.Empty);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "nightly", PropertyValue = "y%" }), Is.Empty);
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "Nightly" }), Is.Empty);
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "note", PropertyValue = "'; DROP TABLE builds; --" })), Is.EqualTo(new[] { 3 }));
    }

    /// <summary>Filters combine with AND, and paging through a filtered query visits every match once.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_CombinedFiltersWithPaging_ReturnsEveryMatchOnce()
    {
        await SeedQueryBuildsAsync();
        var query = new BuildQuery("linux")
        {
            Limit = 2,
            Finished = true,
            Results = new HashSet<BuildResult> { BuildResult.Success, BuildResult.Failure },
            Branch = "main",
            PropertyName = "nightly",
            StartedAtOrAfter = QueryBuild(3).StartedAt,
            StartedBefore = QueryBuild(29).StartedAt,
        };
        var expected = AllQueryBuilds()
            .Where(b => b.IsFinished && (b.Result is BuildResult.Success or BuildResult.Failure) && b.SourceStamps.Any(s => s.Branch == "main")
                && b.Properties.ContainsKey("nightly") && b.Number is >= 3 and < 29)
            .Select(b => b.Number)
            .Reverse()
            .ToArray();

        var seen = await PageAllAsync(query);

        Assert.That(expected, Has.Length.GreaterThan(2), "The seed data should give several pages.");
        Assert.That(seen, Is.EqualTo(expected));
    }

    // Builds 1..30 of "linux": build n starts at T0 + n hours (stored with a +03:00 offset); every fifth is
    // unfinished; the rest finish with Success, Warnings or Failure in turn; even builds are on main, odd on
    // release/1.0; every seventh also uses a library at "shared-lib-rev" on branch "feat_%"; "nightly" is "yes"
    // on multiples of 4 and "no" on n % 4 == 1; build 3 has a "note" with SQL in it.
    private static StoredBuild QueryBuild(int n)
    {
        var started = T0.AddHours(n).ToOffset(TimeSpan.FromHours(3));
        List<SourceStamp> stamps = [new SourceStamp("https://example.org/app.git", n % 2 == 0 ? "main" : "release/1.0", "rev" + Text(n))];
        if (n % 7 == 0)
        {
            stamps.Add(new SourceStamp("https://example.org/lib.git", "feat_%", "shared-lib-rev", Codebase: "lib"));
        }

        var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["n"] = new(Text(n), "Build") };
        if (n % 4 == 0)
        {
            properties["nightly"] = new("yes", "Scheduler");
        }
        else if (n % 4 == 1)
        {
            properties["nightly"] = new("no", "Scheduler");
        }

        if (n == 3)
        {
            properties["note"] = new("'; DROP TABLE builds; --", "Build");
        }

        var build = NewBuild("linux", n) with { SourceStamps = stamps, Properties = properties, StartedAt = started };
        return n % 5 == 0 ? build : Finish(build, started.AddMinutes(30), (BuildResult)(n % 3));
    }

    private static IEnumerable<StoredBuild> AllQueryBuilds() => Enumerable.Range(1, QueryBuildCount).Select(QueryBuild);

    // Stored in two batches, newest first in the second, so storage order does not give the expected order.
    private async Task SeedQueryBuildsAsync()
    {
        var all = AllQueryBuilds().ToArray();
        await Store.ApplyAsync(new WriteBatch { Builds = [.. all.Skip(15)] });
        await Store.ApplyAsync(new WriteBatch { Builds = [.. all.Take(15).Reverse()] });
    }

    // Runs the query with the largest limit and checks it returns exactly the seeded builds the predicate picks, newest first.
    private async Task AssertQueryAsync(BuildQuery query, Func<StoredBuild, bool> expected)
    {
        var want = AllQueryBuilds().Where(expected).Select(b => b.Number).Reverse().ToArray();
        Assert.That(want, Is.Not.Empty, "The seed data should match the filter.");
        var got = await Store.QueryBuildsAsync(query with { Limit = BuildQuery.MaxLimit });
        Assert.That(Numbers(got), Is.EqualTo(want), $"Query: {query}");
    }

    private async Task<List<int>> PageAllAsync(BuildQuery query)
    {
        var seen = new List<int>();
        for (var guard = 0; guard < 1000; guard++)
        {
            var page = await Store.QueryBuildsAsync(query);
            Assert.That(page, Has.Count.LessThanOrEqualTo(query.Limit));
            if (page.Count == 0)
            {
                return seen;
            }

            seen.AddRange(page.Select(b => b.Number));
            query = query with { BeforeNumber = page[^1].Number };
        }

        Assert.Fail("Paging did not end.");
        return seen;
    }
}
