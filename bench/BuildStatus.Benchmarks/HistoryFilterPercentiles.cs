using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Benchmarks;

/// <summary>
/// p50/p95/p99 of every <see cref="BuildQuery"/> filter on the cached SQLite history (<see cref="HistoryDatabase"/>),
/// through the public API (<see cref="IBuildHistory.QueryBuildsAsync"/>), timed one call at a time with a Stopwatch.
/// Every page returned is checked against its filter (newest first, every build matching); a wrong page stops the run.
/// </summary>
internal static class HistoryFilterPercentiles
{
    public static async Task RunAsync(int builds, int runs, string? only)
    {
        var path = await HistoryDatabase.EnsureAsync(builds, Console.Out);
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseSqlite($"Data Source={path}").Configure(o => o.HostName = "bench"));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();
        var opening = Stopwatch.StartNew();
        await host.StartAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// host started in {opening.Elapsed.TotalSeconds:0.0} s (includes any schema migration)"));
        var perBuilder = builds / HistoryDatabase.Builders;
        var random = new Random(7);
        string AnyBuilder() => HistoryDatabase.BuilderName(random.Next(HistoryDatabase.Builders));

        var cases = new List<Case>
        {
            new("plain page", () => new BuildQuery(AnyBuilder()), _ => true, MustFill: true),
            new("Results={Failure}", () => new BuildQuery(AnyBuilder()) { Results = new HashSet<BuildResult> { BuildResult.Failure } }, b => b.Result == BuildResult.Failure, MustFill: true),
            new("Results={Warnings,Failure}", () => new BuildQuery(AnyBuilder()) { Results = new HashSet<BuildResult> { BuildResult.Warnings, BuildResult.Failure } }, b => b.Result is BuildResult.Warnings or BuildResult.Failure, MustFill: true),
            new("Results={Exception} (none)", () => new BuildQuery(AnyBuilder()) { Results = new HashSet<BuildResult> { BuildResult.Exception } }, b => b.Result == BuildResult.Exception),
            new("Finished=false (0.05 %)", () => new BuildQuery(AnyBuilder()) { Finished = false }, b => !b.IsFinished),
            new("Finished=true", () => new BuildQuery(AnyBuilder()) { Finished = true }, b => b.IsFinished, MustFill: true),
            new("branch main (80 %)", () => new BuildQuery(AnyBuilder()) { Branch = "main" }, b => HasBranch(b, "main"), MustFill: true),
            new("branch feature-000 (1 %)", () => new BuildQuery(AnyBuilder()) { Branch = HistoryDatabase.BranchName(0) }, b => HasBranch(b, HistoryDatabase.BranchName(0)), MustFill: true),
            RareBranch(random, AnyBuilder),
            new("branch with no builds", () => new BuildQuery(AnyBuilder()) { Branch = "no-such-branch" }, _ => false),
            OneRevision(random, builds),
            new("revision with no builds", () => new BuildQuery(AnyBuilder()) { Revision = "0000000000000000000000000000000000000000" }, _ => false),
            OnePullRequest(random, AnyBuilder),
            new("property pr set (5 %)", () => new BuildQuery(AnyBuilder()) { PropertyName = "pr" }, b => b.Properties.ContainsKey("pr"), MustFill: true),
            OneOwner(random, AnyBuilder),
            new("property with no builds", () => new BuildQuery(AnyBuilder()) { PropertyName = "no-such-property" }, _ => false),
            new("main + Results={Failure}", () => new BuildQuery(AnyBuilder()) { Branch = "main", Results = new HashSet<BuildResult> { BuildResult.Failure } }, b => HasBranch(b, "main") && b.Result == BuildResult.Failure, MustFill: true),
            StartedWithin(random, builds, AnyBuilder),
            new("StartedBefore (half the history)", () => new BuildQuery(AnyBuilder()) { StartedBefore = HistoryDatabase.StartedAt(builds / 2) }, b => b.StartedAt < HistoryDatabase.StartedAt(builds / 2), MustFill: true),
            new("BeforeNumber (half the history)", () => new BuildQuery(AnyBuilder()) { BeforeNumber = perBuilder / 2 }, b => b.Number < perBuilder / 2, MustFill: true),
        };

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{builds:N0} builds stored ({perBuilder:N0} in each of {HistoryDatabase.Builders} builders), page size 50, {runs:N0} timed runs per query after {Warmup(runs)} warm-up runs"));
        Console.WriteLine($"{"query",-40} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"max ms",8} {"rows",6}");
        foreach (var c in cases.Where(c => only is null || c.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
        {
            var samples = new List<double>(runs);
            long rows = 0;
            for (var k = -Warmup(runs); k < runs; k++)
            {
                var query = c.Make();
                var started = Stopwatch.GetTimestamp();
                var page = await host.History.QueryBuildsAsync(query);
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Check(c, query, page);
                if (k >= 0)
                {
                    samples.Add(ms);
                    rows += page.Builds.Count;
                }
            }

            Print(c.Name, samples, (double)rows / runs);
        }

        if (only is null || "20 pages deep".Contains(only, StringComparison.OrdinalIgnoreCase))
        {
            // 20 pages of feature-000 (1 % of builds, about 1,000 per builder) one after the other, following
            // BuildPage.Next; every page is a sample (the last may be short or empty).
            var branch = HistoryDatabase.BranchName(0);
            var pageCase = new Case("20 pages deep, feature-000 (per page)", () => null!, b => HasBranch(b, branch));
            var samples = new List<double>(runs);
            for (var walk = -Math.Max(1, Warmup(runs) / 20); walk < Math.Max(1, runs / 20); walk++)
            {
                BuildQuery? query = new BuildQuery(AnyBuilder()) { Branch = branch };
                for (var p = 0; p < 20 && query is not null; p++)
                {
                    var started = Stopwatch.GetTimestamp();
                    var page = await host.History.QueryBuildsAsync(query);
                    var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    Check(pageCase, query, page);
                    if (walk >= 0)
                    {
                        samples.Add(ms);
                    }

                    query = page.Next;
                }
            }

            Print(pageCase.Name, samples, 50);
        }

        await host.StopAsync();
    }

    private static int Warmup(int runs) => Math.Min(50, runs);

    private static Case RareBranch(Random random, Func<string> anyBuilder)
    {
        string? branch = null;
        return new Case(
            "rare branch (feature-400..499)",
            () =>
            {
                branch = HistoryDatabase.BranchName(random.Next(400, HistoryDatabase.FeatureBranches));
                return new BuildQuery(anyBuilder()) { Branch = branch };
            },
            b => HasBranch(b, branch!));
    }

    private static Case OneRevision(Random random, int builds)
    {
        var index = 0;
        return new Case(
            "one revision",
            () =>
            {
                index = random.Next(builds);
                return new BuildQuery(HistoryDatabase.BuilderName(index % HistoryDatabase.Builders)) { Revision = HistoryDatabase.Revision(index) };
            },
            b => b.Number == index / HistoryDatabase.Builders + 1 && b.SourceStamps.Any(s => s.Revision == HistoryDatabase.Revision(index)),
            Exactly: 1);
    }

    private static Case OnePullRequest(Random random, Func<string> anyBuilder)
    {
        var pr = string.Empty;
        return new Case(
            "property pr = one value",
            () =>
            {
                pr = random.Next(1, HistoryDatabase.PullRequests + 1).ToString(CultureInfo.InvariantCulture);
                return new BuildQuery(anyBuilder()) { PropertyName = "pr", PropertyValue = pr };
            },
            b => b.Properties.TryGetValue("pr", out var v) && v.Value == pr);
    }

    private static Case OneOwner(Random random, Func<string> anyBuilder)
    {
        var owner = string.Empty;
        return new Case(
            "property owner = one of 50",
            () =>
            {
                owner = string.Create(CultureInfo.InvariantCulture, $"owner-{random.Next(HistoryDatabase.Owners):D2}");
                return new BuildQuery(anyBuilder()) { PropertyName = "owner", PropertyValue = owner };
            },
            b => b.Properties.TryGetValue("owner", out var v) && v.Value == owner,
            MustFill: true);
    }

    private static Case StartedWithin(Random random, int builds, Func<string> anyBuilder)
    {
        DateTimeOffset from = default, to = default;
        return new Case(
            "started within one hour",
            () =>
            {
                from = HistoryDatabase.StartedAt(random.Next(builds - 200));
                to = from.AddHours(1);
                return new BuildQuery(anyBuilder()) { StartedAtOrAfter = from, StartedBefore = to };
            },
            b => b.StartedAt >= from && b.StartedAt < to);
    }

    private static bool HasBranch(IPersistentBuild build, string branch) => build.SourceStamps.Any(s => s.Branch == branch);

    private static void Check(Case c, BuildQuery query, BuildPage page)
    {
        var builds = page.Builds;
        for (var i = 0; i < builds.Count; i++)
        {
            if (builds[i].BuilderName != query.BuilderName || !c.Matches(builds[i]) || (i > 0 && builds[i].Number >= builds[i - 1].Number)
                || (query.BeforeNumber is { } before && builds[i].Number >= before))
            {
                throw new InvalidOperationException($"{c.Name}: {query} returned {builds[i].BuilderName} #{builds[i].Number}, which does not match or is out of order.");
            }
        }

        if ((c.MustFill && builds.Count != query.Limit) || (c.Exactly is { } n && builds.Count != n))
        {
            throw new InvalidOperationException($"{c.Name}: {query} returned {builds.Count} builds.");
        }
    }

    private static void Print(string name, List<double> samples, double rows)
    {
        samples.Sort();
        double At(double q) => samples[Math.Clamp((int)Math.Ceiling(q * samples.Count) - 1, 0, samples.Count - 1)];
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{name,-40} {At(0.5),8:0.000} {At(0.95),8:0.000} {At(0.99),8:0.000} {samples[^1],8:0.000} {rows,6:0.0}"));
    }

    /// <param name="Name">What the output calls it.</param>
    /// <param name="Make">The next query (may pick a random builder or value).</param>
    /// <param name="Matches">Whether a returned build matches the last query made.</param>
    /// <param name="MustFill">Whether every page must be full.</param>
    /// <param name="Exactly">The exact page size expected, when known.</param>
    private sealed record Case(string Name, Func<BuildQuery> Make, Func<IPersistentBuild, bool> Matches, bool MustFill = false, int? Exactly = null);
}
