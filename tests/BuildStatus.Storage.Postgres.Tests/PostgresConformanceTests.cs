using BuildStatus.Storage.Testing;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// The conformance suite on PostgreSQL. The suite's lease cases run on fixed instants (T0, T0 + 60 s, ...), while the
/// store judges leases on the server's clock; so here the store is told to take Core's <c>now</c> instead
/// (<see cref="PostgresStorageOptions.InstanceTimesFromCaller"/>, internal), which sends those instants to the very
/// statements that otherwise use <c>statement_timestamp()</c>. The server-clock path itself is tested by
/// <see cref="InstanceClockTests"/> with short real leases.
/// </summary>
[TestFixture]
public sealed class PostgresConformanceTests : BuildStoreConformanceTests
{
    private static readonly TestDatabase Database = new("conformance");

    protected override bool SupportsSharedInstances => true;

    protected override IBuildStore CreateStore(string directory)
    {
        var options = Database.Options(TestDatabase.SchemaFor(directory));
        options.InstanceTimesFromCaller = true;
        return new PostgresBuildStore(options);
    }
}
