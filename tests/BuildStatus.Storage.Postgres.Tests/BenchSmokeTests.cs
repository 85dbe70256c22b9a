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
            BaselineDurableStarts = true,
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
            Assert.That(result.BaselineDurableStarts?.DurableStarts, Is.True);
            Assert.That(result.LibraryToBaselineDurableStartsRatio, Is.GreaterThan(0));
            Assert.That(leftOver, Is.Zero, "the runner drops the schemas it created");
        });
    }

    [Test]
    public async Task W1_TwoHostsOnASharedSchema_BothReadBackAndNumbersAreDistinct(CancellationToken cancellationToken)
    {
        var schema = "shared_" + Guid.NewGuid().ToString("N")[..16];
        WorkloadOptions Options(string host) => new()
        {
            Builds = 20,
            Store = "postgres",
            PostgresConnectionString = Database.ConnectionString,
            SharedSchema = schema,
            HostName = host,
            QueryIterations = 5,
            WarmupBuilds = 0,
            Print = false,
        };

        var results = await Task.WhenAll(Workload.RunAsync(Options("host-1"), null, cancellationToken), Workload.RunAsync(Options("host-2"), null, cancellationToken));

        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT count(*), count(DISTINCT (builder_id, number)), max(number) FROM {schema}.builds", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => r.VerificationOk), Is.All.True, string.Join("; ", results.SelectMany(r => r.Errors)));
            Assert.That(reader.GetInt64(0), Is.EqualTo(40));
            Assert.That(reader.GetInt64(1), Is.EqualTo(40), "numbers are unique per builder across the two hosts");
            Assert.That(reader.GetInt32(2), Is.EqualTo(4), "each of the 10 builders numbered its 4 builds 1..4");
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
