using System.Text.RegularExpressions;
using BuildStatus.Core.Tests.Support;

namespace BuildStatus.Core.Tests.Docs;

/// <summary>Promises of the README and the XML docs that are not covered by a feature's own tests.</summary>
[TestFixture]
public sealed partial class PublicPromisesTests
{
    [Test]
    public void Readme_PackagedWithEveryPackage_LinksOnlyToAbsoluteUrlsOrAnchors()
    {
        // The README is the packages' readme on the gallery, where a relative link (docs/...) leads nowhere.
        var readme = File.ReadAllText(Path.Combine(FindRepositoryRoot(), "README.md"));

        var relative = MarkdownLink().Matches(readme)
            .Select(m => m.Groups["target"].Value)
            .Where(target => !target.StartsWith('#') && !target.StartsWith("https://", StringComparison.Ordinal))
            .ToArray();

        Assert.That(relative, Is.Empty);
    }

    [Test]
    public async Task WatchAsync_EventPublishedBeforeEnumerationStarts_IsDelivered()
    {
        await using var t = await TestHost.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // IStatus.WatchAsync: the subscription starts at the call, not at the first MoveNextAsync.
        var stream = t.Host.WatchAsync(null, timeout.Token);
        t.Host.AddBuilder("early");
        await using var events = stream.GetAsyncEnumerator(timeout.Token);

        Assert.That(await events.MoveNextAsync(), Is.True);
        Assert.That(events.Current, Is.TypeOf<BuilderAdded>().With.Property(nameof(BuilderAdded.BuilderName)).EqualTo("early"));
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BuildStatus.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("BuildStatus.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
