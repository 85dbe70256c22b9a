using BuildStatus.Storage.Testing;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

[TestFixture]
public sealed class SqliteConformanceTests : BuildStoreConformanceTests
{
    protected override bool SupportsSharedInstances => true;

    protected override IBuildStore CreateStore(string directory) => new SqliteBuildStore(new SqliteStorageOptions { ConnectionString = $"Data Source={Path.Combine(directory, "builds.db")}", ShareEvents = true });
}
