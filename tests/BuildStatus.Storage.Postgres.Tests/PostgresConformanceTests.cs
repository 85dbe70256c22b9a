using BuildStatus.Storage.Testing;

namespace BuildStatus.Storage.Postgres.Tests;

[TestFixture]
public sealed class PostgresConformanceTests : BuildStoreConformanceTests
{
    private static readonly TestDatabase Database = new("conformance");

    protected override bool SupportsSharedInstances => true;

    protected override IBuildStore CreateStore(string directory) => new PostgresBuildStore(Database.Options(TestDatabase.SchemaFor(directory)));
}
