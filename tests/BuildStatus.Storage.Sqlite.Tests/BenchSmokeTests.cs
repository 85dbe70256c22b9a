using BuildStatus.Bench;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>The benchmark runner's workload W1 still runs and reads back what it wrote (bench/BuildStatus.Bench).</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class BenchSmokeTests
{
    [Test]
    public async Task W1_TwentyBuildsOnSqlite_ReadBackVerificationPasses(CancellationToken cancellationToken)
    {
        var options = new WorkloadOptions
        {
            Builds = 20,
            Store = "sqlite",
            QueryIterations = 20,
            WarmupBuilds = 0,
            Print = false,
        };

        var result = await Workload.RunAsync(options, progress: null, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(result.Errors, Is.Empty);
            Assert.That(result.VerificationOk, Is.True);
            Assert.That(result.VerifiedBuilds, Is.EqualTo(20));
            Assert.That(result.VerifiedLines, Is.EqualTo(20L * WorkloadText.StepsPerBuild * WorkloadText.LinesPerLog));
            Assert.That(result.Write.LogBytes, Is.EqualTo(20L * WorkloadText.LogBytesPerBuild));
            Assert.That(result.Queries.Keys, Is.EquivalentTo(new[] { "last_50_builds", "get_build", "build_steps", "log_all_lines" }));
            Assert.That(result.DatabaseBytes, Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task W1_WithBaseline_ReportsTheRatio(CancellationToken cancellationToken)
    {
        var options = new WorkloadOptions { Builds = 20, Store = "sqlite", QueryIterations = 5, WarmupBuilds = 0, Baseline = true, Print = false };

        var result = await Workload.RunAsync(options, progress: null, cancellationToken);

        Assert.That(result.VerificationOk, Is.True, string.Join("; ", result.Errors));
        Assert.That(result.Baseline, Is.Not.Null);
        Assert.That(result.LibraryToBaselineRatio, Is.GreaterThan(0));
    }
}
