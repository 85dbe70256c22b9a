using System.Text.RegularExpressions;
using BuildStatus.Core.Tests.Support;
using BuildStatus.Tests.Shared;

namespace BuildStatus.Core.Tests.Docs;

/// <summary>Promises of the README and the XML docs that are not covered by a feature's own tests.</summary>
[TestFixture]
public sealed partial class PublicPromisesTests
{
    [Test]
    public void Readme_PackagedWithEveryPackage_LinksOnlyToAbsoluteUrlsOrAnchors()
    {
        // The README is the packages' readme on the gallery, where a relative link (docs/...) leads nowhere.
        var readme = Readme.Read();

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

    [Test]
    public void Readme_OptionsTable_NamesEveryBuildStatusOption()
    {
        // An option the table leaves out is one an outside user never learns of; one it names that is gone does not compile.
        var readme = Readme.Read();
        var options = typeof(BuildStatusOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name);

        Assert.That(Readme.TableNames(readme, "| Option | Default | Meaning |"), Is.EquivalentTo(options));
    }

    [Test]
    public void Readme_EventTypes_NameEveryStatusEvent()
    {
        var readme = Readme.Read();
        var start = readme.IndexOf("Event types: ", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0));
        var sentence = readme[start..(readme.IndexOf("`EventsMissed`", start, StringComparison.Ordinal) + "`EventsMissed`".Length)];
        var listed = Readme.CodeName().Matches(sentence).Select(m => m.Groups["name"].Value);
        var events = typeof(StatusEvent).Assembly.GetExportedTypes().Where(t => t.IsSubclassOf(typeof(StatusEvent))).Select(t => t.Name);

        Assert.That(listed, Is.EquivalentTo(events));
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
