using BuildStatus.Tests.Shared;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>The README's SQLite section against the code, as an outside user reads it.</summary>
[TestFixture]
public sealed class ReadmeTests
{
    [Test]
    public void Readme_SqliteOptionsTable_NamesEveryOption()
    {
        var names = Readme.TableNames(Readme.Read(), "| `SqliteStorageOptions` | Default | Meaning |");

        Assert.That(names, Is.EquivalentTo(typeof(SqliteStorageOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name)));
    }
}
