using BuildStatus.Bench;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>The benchmark runner's <c>--store postgres</c> (and its raw Npgsql baseline) runs W1 and reads back what it wrote.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class BenchSmokeTests
{
    private static readonly TestDatabase Database = new();

    [Test]
    public async Task W1_TwentyBuildsOnPostgresWithBaseline_ReadBackPassesAndSchemasAreDropped(CancellationToken cancellationToken)
    {
        var options = new WorkloadOptions
        {
            Builds = 20,
            Store = "postgres",
            PostgresConnectionString = Database.ConnectionString,
            QueryIterations = 10,
            WarmupBuilds = 5,
            Baseline = true,
            Print = false,
        };

        var result = await Workload.RunAsync(options, progress: null, cancellationToken);

        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench%' OR nspname LIKE 'baseline%'", connection);
        var leftOver = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        Assert.Multiple(() =>
        {
            Assert.That(result.VerificationOk, Is.True, string.Join("; ", result.Errors));
            Assert.That(result.VerifiedBuilds, Is.EqualTo(20));
            Assert.That(result.VerifiedLines, Is.EqualTo(20L * WorkloadText.StepsPerBuild * WorkloadText.LinesPerLog));
            Assert.That(result.LogChunks, Is.GreaterThan(0));
            Assert.That(result.DatabaseBytes, Is.GreaterThan(0));
            Assert.That(result.Baseline, Is.Not.Null);
            Assert.That(result.LibraryToBaselineRatio, Is.GreaterThan(0));
            Assert.That(leftOver, Is.Zero, "the runner drops the schemas it created");
        });
    }

    [Test]
    public void Parse_PostgresWithoutConnectionString_SaysWhatIsMissing()
    {
        Assert.That(
            () => WorkloadOptions.Parse(["--store", "postgres", "--pg", " "]),
            Throws.ArgumentException.With.Message.Contains("--pg"));
    }
}
