using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>
/// <see cref="IBuildStore.QueryBuildsAsync"/> filters checked against an oracle on data made to trip the usual index
/// shortcuts: values shared with another builder that has higher numbers, a build with the same branch and revision
/// on two stamps, rare values deep in the history, start times in the reverse order of the numbers, several results
/// merged, and stamps and properties rewritten after the build was first stored. Each query is run with the largest
/// limit and paged with a small one; both must return exactly the matching builds, newest first, each once.
/// </content>
public abstract partial class BuildStoreConformanceTests
{
    private const int FilterBuildCount = 120;

    /// <summary>Every filter alone, for common, rare and absent values, matches the oracle with and without paging.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_EachFilterAlone_MatchesEveryBuildOnceNewestFirst()
    {
        await SeedFilterBuildsAsync();

        await AssertFilterAsync(new BuildQuery("linux") { Branch = "main" }, b => HasBranch(b, "main"));
        await AssertFilterAsync(new BuildQuery("linux") { Branch = "dev" }, b => HasBranch(b, "dev"));
        await AssertFilterAsync(new BuildQuery("linux") { Branch = "rare" }, b => HasBranch(b, "rare"));
        await AssertFilterAsync(new BuildQuery("linux") { Branch = "windows-only" }, b => HasBranch(b, "windows-only"));
        await AssertFilterAsync(new BuildQuery("linux") { Revision = "r10" }, b => b.SourceStamps.Any(s => s.Revision == "r10"));
        await AssertFilterAsync(new BuildQuery("linux") { Revision = "shared" }, b => b.SourceStamps.Any(s => s.Revision == "shared"));
        await AssertFilterAsync(new BuildQuery("linux") { Revision = "r7" }, b => b.SourceStamps.Any(s => s.Revision == "r7"));
        await AssertFilterAsync(new BuildQuery("linux") { Revision = "r999" }, b => false);
        await AssertFilterAsync(new BuildQuery("linux") { PropertyName = "pr" }, b => b.Properties.ContainsKey("pr"));
        await AssertFilterAsync(new BuildQuery("linux") { PropertyName = "pr", PropertyValue = "pr-3" }, b => HasProperty(b, "pr", "pr-3"));
        await AssertFilterAsync(new BuildQuery("linux") { PropertyName = "owner", PropertyValue = "o1" }, b => HasProperty(b, "owner", "o1"));
        await AssertFilterAsync(new BuildQuery("linux") { PropertyName = "owner", PropertyValue = "o9" }, b => false);
        await AssertFilterAsync(new BuildQuery("linux") { PropertyName = "windows-property" }, b => false);
        await AssertFilterAsync(new BuildQuery("linux") { Finished = false }, b => !b.IsFinished);
        await AssertFilterAsync(new BuildQuery("linux") { Finished = true }, b => b.IsFinished);
        await AssertFilterAsync(new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Failure } }, b => b.Result == BuildResult.Failure);
        await AssertFilterAsync(
            new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Cancelled, BuildResult.Success, BuildResult.Exception } },
            b => b.Result is BuildResult.Cancelled or BuildResult.Success or BuildResult.Exception);
        await AssertFilterAsync(new BuildQuery("linux") { Results = new HashSet<BuildResult> { BuildResult.Retry } }, b => b.Result == BuildResult.Retry);
    }

    /// <summary>
    /// Time ranges select by start time but still order by number, although start times here run the other way.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_TimeRangeWithStartTimesAgainstNumberOrder_OrdersByNumber()
    {
        await SeedFilterBuildsAsync();
        var from = FilterBuild("linux", 90).StartedAt;
        var to = FilterBuild("linux", 70).StartedAt;

        await AssertFilterAsync(new BuildQuery("linux") { StartedAtOrAfter = from, StartedBefore = to }, b => b.StartedAt >= from && b.StartedAt < to);
        await AssertFilterAsync(new BuildQuery("linux") { StartedBefore = to }, b => b.StartedAt < to);
        await AssertFilterAsync(new BuildQuery("linux") { StartedAtOrAfter = from }, b => b.StartedAt >= from);
    }

    /// <summary>
    /// A wide time range over a long history, where start times rise with the numbers except for a few builds: two
    /// recent numbers that started before everything else, the newest of them all, whose start time was rewritten
    /// into the past after it was stored, and an early number that started after everything else. A backend that turns a start time into a
    /// number (as if they rose together), or that keeps a summary of start times it does not update on rewrite,
    /// misses these builds or returns them out of order.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_WideTimeRangeWithSomeStartTimesOutOfOrder_MatchesEveryBuildOnceNewestFirst()
    {
        var builds = Enumerable.Range(1, WideRangeBuildCount).Select(n => WideRangeBuild(n, rewritten: false)).ToArray();
        foreach (var chunk in builds.Chunk(1000))
        {
            await Store.ApplyAsync(new WriteBatch { Builds = chunk });
        }

        // Another builder with the same start times, numbered above linux's, that no query may return.
        await Store.ApplyAsync(new WriteBatch { Builds = [.. Enumerable.Range(1, 200).Select(n => WideRangeBuild(n, rewritten: false) with { BuilderName = "windows", Number = WideRangeBuildCount + n })] });
        await Store.ApplyAsync(new WriteBatch { Builds = [WideRangeBuild(5150, rewritten: true)] });
        var oracle = Enumerable.Range(1, WideRangeBuildCount).Select(n => WideRangeBuild(n, rewritten: true)).Reverse().ToArray();
        var early = WideRangeStart(4500);
        var late = WideRangeStart(500);

        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedBefore = early }, b => b.StartedAt < early);
        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedAtOrAfter = late }, b => b.StartedAt >= late);
        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedAtOrAfter = WideRangeStart(200), StartedBefore = WideRangeStart(4800) }, b => b.StartedAt >= WideRangeStart(200) && b.StartedAt < WideRangeStart(4800));
        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedBefore = early, BeforeNumber = 4800 }, b => b.StartedAt < early && b.Number < 4800);
        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedBefore = early, Results = new HashSet<BuildResult> { BuildResult.Failure } }, b => b.StartedAt < early && b.Result == BuildResult.Failure);
        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedBefore = T0.AddHours(-12) }, b => b.StartedAt < T0.AddHours(-12));
        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedBefore = T0.AddHours(-36) }, b => b.StartedAt < T0.AddHours(-36));
        await AssertWideRangeAsync(oracle, new BuildQuery("linux") { StartedAtOrAfter = WideRangeStart(WideRangeBuildCount).AddDays(1) }, b => b.StartedAt >= WideRangeStart(WideRangeBuildCount).AddDays(1));
    }

    /// <summary>Filters combine with AND whichever of them a backend looks up first.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_FiltersCombined_MatchesEveryBuildOnceNewestFirst()
    {
        await SeedFilterBuildsAsync();
        var failures = new HashSet<BuildResult> { BuildResult.Failure, BuildResult.Warnings };

        await AssertFilterAsync(new BuildQuery("linux") { Branch = "main", Results = failures }, b => HasBranch(b, "main") && failures.Contains(b.Result ?? BuildResult.Retry));
        await AssertFilterAsync(new BuildQuery("linux") { Branch = "rare", Results = new HashSet<BuildResult> { BuildResult.Failure } }, b => HasBranch(b, "rare") && b.Result == BuildResult.Failure);
        await AssertFilterAsync(new BuildQuery("linux") { Revision = "shared", Finished = true }, b => b.SourceStamps.Any(s => s.Revision == "shared") && b.IsFinished);
        await AssertFilterAsync(new BuildQuery("linux") { Revision = "shared", Branch = "dev" }, b => b.SourceStamps.Any(s => s.Revision == "shared") && HasBranch(b, "dev"));
        await AssertFilterAsync(new BuildQuery("linux") { Finished = false, Branch = "dev" }, b => !b.IsFinished && HasBranch(b, "dev"));
        await AssertFilterAsync(new BuildQuery("linux") { Finished = false, PropertyName = "pr" }, b => !b.IsFinished && b.Properties.ContainsKey("pr"));
        await AssertFilterAsync(
            new BuildQuery("linux") { PropertyName = "owner", PropertyValue = "o2", Branch = "main", StartedBefore = FilterBuild("linux", 30).StartedAt },
            b => HasProperty(b, "owner", "o2") && HasBranch(b, "main") && b.StartedAt < FilterBuild("linux", 30).StartedAt);
        await AssertFilterAsync(new BuildQuery("linux") { PropertyName = "pr", Results = new HashSet<BuildResult> { BuildResult.Success } }, b => b.Properties.ContainsKey("pr") && b.Result == BuildResult.Success);
        await AssertFilterAsync(new BuildQuery("linux") { Results = failures, Finished = true, StartedAtOrAfter = FilterBuild("linux", 100).StartedAt }, b => failures.Contains(b.Result ?? BuildResult.Retry) && b.StartedAt >= FilterBuild("linux", 100).StartedAt);
        await AssertFilterAsync(new BuildQuery("linux") { Results = failures, Finished = false }, b => false);
    }

    /// <summary>A build whose stamps and properties are rewritten matches only its current ones.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task QueryBuildsAsync_StampsAndPropertiesRewritten_MatchOnlyCurrentValues()
    {
        await SeedFilterBuildsAsync();
        var moved = FilterBuild("linux", 7) with
        {
            SourceStamps = [new SourceStamp("https://example.org/app.git", "moved", "r7-moved")],
            Properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["owner"] = new("o-new", "Build") },
        };
        await Store.ApplyAsync(new WriteBatch { Builds = [moved] });

        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Branch = "rare" })), Is.EqualTo(new[] { 101 }));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux") { Revision = "r7" }), Is.Empty);
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Branch = "moved" })), Is.EqualTo(new[] { 7 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { Revision = "r7-moved" })), Is.EqualTo(new[] { 7 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "owner", PropertyValue = "o-new" })), Is.EqualTo(new[] { 7 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "owner", Limit = BuildQuery.MaxLimit })), Does.Contain(7));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux") { PropertyName = "owner", PropertyValue = FilterOwner(7), Limit = BuildQuery.MaxLimit })), Does.Not.Contain(7));
    }

    // Builds 1..120 of "linux", and of "windows" numbered 1001..1120 with the same values (higher numbers, so a
    // lookup by value that ignores the builder fills a page with them). Build n of linux starts at T0 + (200 - n)
    // minutes: the later the number, the earlier the start. Branch "rare" on 7 and 101, else "main" on even and "dev"
    // on odd numbers; every tenth build has a second stamp with the same branch and revision; revision "r<n>", and
    // "shared" (on a library stamp of branch "dev") on every 25th; property "owner" o0..o3 on all, "pr" pr-(n / 10)
    // on multiples of 3; every 17th unfinished, the rest finish with result n % 7. Windows alone has branch
    // "windows-only" and property "windows-property".
    private static StoredBuild FilterBuild(string builderName, int n)
    {
        var windows = builderName == "windows";
        var branch = n is 7 or 101 ? "rare" : n % 2 == 0 ? "main" : "dev";
        List<SourceStamp> stamps = [new SourceStamp("https://example.org/app.git", windows && n % 9 == 0 ? "windows-only" : branch, "r" + Text(n))];
        if (n % 10 == 0)
        {
            stamps.Add(new SourceStamp("https://example.org/app.git", branch, "r" + Text(n), Codebase: "again"));
        }

        if (n % 25 == 0)
        {
            stamps.Add(new SourceStamp("https://example.org/lib.git", "dev", "shared", Codebase: "lib"));
        }

        var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["owner"] = new(FilterOwner(n), "Scheduler") };
        if (n % 3 == 0)
        {
            properties["pr"] = new("pr-" + Text(n / 10), "Change");
        }

        if (windows)
        {
            properties["windows-property"] = new("1", "Build");
        }

        var started = T0.AddMinutes(200 - n);
        var build = NewBuild(builderName, windows ? 1000 + n : n) with { SourceStamps = stamps, Properties = properties, StartedAt = started };
        return n % 17 == 0 ? build : Finish(build, started.AddMinutes(5), (BuildResult)(n % 7));
    }

    private const int WideRangeBuildCount = 5200;

    private static DateTimeOffset WideRangeStart(int n) => T0.AddMinutes(n);

    // Build n of linux starts at T0 + n minutes, except 4700 and 4990 (a day before T0), 10 (30 days after the
    // last), and 5150 once rewritten (two days before T0; the only early start among the numbers above 5000).
    // Every 9th fails, the others succeed.
    private static StoredBuild WideRangeBuild(int n, bool rewritten)
    {
        var started = n switch
        {
            4700 or 4990 => T0.AddDays(-1),
            10 => WideRangeStart(WideRangeBuildCount).AddDays(30),
            5150 when rewritten => T0.AddDays(-2),
            _ => WideRangeStart(n),
        };
        return Finish(NewBuild("linux", n) with { StartedAt = started }, started.AddMinutes(1), n % 9 == 0 ? BuildResult.Failure : BuildResult.Success);
    }

    // The query must return exactly the oracle's builds it picks (newest first): its first page of 7, and every
    // match paged with the largest limit.
    private async Task AssertWideRangeAsync(StoredBuild[] oracle, BuildQuery query, Func<StoredBuild, bool> expected)
    {
        var want = oracle.Where(expected).Select(b => b.Number).ToArray();
        Assert.That(Numbers(await Store.QueryBuildsAsync(query with { Limit = 7 })), Is.EqualTo(want.Take(7).ToArray()), $"First page: {query}");
        Assert.That(await PageAllAsync(query with { Limit = BuildQuery.MaxLimit }), Is.EqualTo(want), $"Paged: {query}");
    }

    private static string FilterOwner(int n) => "o" + Text(n % 4);

    private static bool HasBranch(StoredBuild build, string branch) => build.SourceStamps.Any(s => s.Branch == branch);

    private static bool HasProperty(StoredBuild build, string name, string value) => build.Properties.TryGetValue(name, out var v) && v.Value == value;

    // Windows first, then linux in three batches out of number order, so storage order does not give the expected order.
    private async Task SeedFilterBuildsAsync()
    {
        await Store.ApplyAsync(new WriteBatch { Builds = [.. Enumerable.Range(1, FilterBuildCount).Select(n => FilterBuild("windows", n))] });
        var linux = Enumerable.Range(1, FilterBuildCount).Select(n => FilterBuild("linux", n)).ToArray();
        await Store.ApplyAsync(new WriteBatch { Builds = [.. linux.Where(b => b.Number % 3 == 0).Reverse()] });
        await Store.ApplyAsync(new WriteBatch { Builds = [.. linux.Where(b => b.Number % 3 == 1)] });
        await Store.ApplyAsync(new WriteBatch { Builds = [.. linux.Where(b => b.Number % 3 == 2).Reverse()] });
    }

    // The query must return exactly the linux builds the predicate picks, newest first: with the largest limit, and
    // paged three at a time.
    private async Task AssertFilterAsync(BuildQuery query, Func<StoredBuild, bool> expected)
    {
        var want = Enumerable.Range(1, FilterBuildCount).Select(n => FilterBuild("linux", n)).Where(expected).Select(b => b.Number).Reverse().ToArray();
        var all = await Store.QueryBuildsAsync(query with { Limit = BuildQuery.MaxLimit });
        Assert.That(Numbers(all), Is.EqualTo(want), $"Query: {query}");
        Assert.That(all.Select(b => b.BuilderName).Distinct(), Is.SubsetOf(new[] { "linux" }), $"Query: {query}");
        foreach (var build in all)
        {
            AssertSameBuild(build, FilterBuild("linux", build.Number));
        }

        Assert.That(await PageAllAsync(query with { Limit = 3 }), Is.EqualTo(want), $"Paged three at a time: {query}");
    }
}
