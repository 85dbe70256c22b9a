using System.Text.RegularExpressions;
using NUnit.Framework;

// Compiled into each test project that checks the README against the code (linked from tests/Shared).
namespace BuildStatus.Tests.Shared;

/// <summary>The repository's README as an outside user reads it, for tests that hold the code to what it says.</summary>
internal static partial class Readme
{
    /// <summary>Returns the repository's root: the nearest folder above the test binaries that holds BuildStatus.sln.</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BuildStatus.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("BuildStatus.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Returns the text of README.md.</summary>
    public static string Read() => File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

    /// <summary>Returns the names in the first column of the markdown table whose header row is <paramref name="header"/>.</summary>
    public static string[] TableNames(string markdown, string header)
    {
        var start = markdown.IndexOf(header, StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"no table {header}");
        return markdown[start..].Split('\n').Skip(2).TakeWhile(line => line.StartsWith('|'))
            .SelectMany(line => CodeName().Matches(line.Split('|')[1]).Select(m => m.Groups["name"].Value))
            .ToArray();
    }

    /// <summary>A name in backticks.</summary>
    [GeneratedRegex("`(?<name>[A-Za-z]+)`")]
    public static partial Regex CodeName();
}
