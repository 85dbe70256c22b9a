using BuildStatus.Tests.Shared;
using NUnit.Framework;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>The README's PostgreSQL section against the code, as an outside user reads it.</summary>
[TestFixture]
public sealed class ReadmeTests
{
    [Test]
    public void Readme_PostgresOptionsTable_NamesEveryOption()
    {
        var names = Readme.TableNames(Readme.Read(), "| `PostgresStorageOptions` | Default | Meaning |");

        Assert.That(names, Is.EquivalentTo(typeof(PostgresStorageOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name)));
    }
}
