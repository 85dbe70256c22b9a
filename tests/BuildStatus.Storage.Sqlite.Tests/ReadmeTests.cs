using System.Text.RegularExpressions;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>The README's SQLite section against the code, as an outside user reads it.</summary>
[TestFixture]
public sealed partial class ReadmeTests
{
    [Test]
    public void Readme_SqliteOptionsTable_NamesEveryOption()
    {
        var names = TableNames(ReadReadme(), "| `SqliteStorageOptions` | Default | Meaning |");

        Assert.That(names, Is.EquivalentTo(typeof(SqliteStorageOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name)));
    }

    private static string ReadReadme()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BuildStatus.sln")))
        {
            dir = dir.Parent;
        }

        return File.ReadAllText(Path.Combine(dir?.FullName ?? throw new InvalidOperationException("BuildStatus.sln not found"), "README.md"));
    }

    private static string[] TableNames(string markdown, string header)
    {
        var start = markdown.IndexOf(header, StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"no table {header}");
        return markdown[start..].Split('\n').Skip(2).TakeWhile(line => line.StartsWith('|'))
            .Select(line => CodeName().Match(line.Split('|')[1]).Groups["name"].Value)
            .ToArray();
    }

    [GeneratedRegex("`(?<name>[A-Za-z]+)`")]
    private static partial Regex CodeName();
}
