using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Rows returned by the store and rows given to it share no mutable state with the store.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>Changing the lists and dictionaries of a batch after it was applied does not change what is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_CallerMutatesBatchAfterwards_StoredRowsUnchanged()
    {
        var stamps = new List<SourceStamp> { new("repo", "main", "r1") };
        var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["owner"] = new("alice", "test") };
        var tags = new List<string> { "nightly" };
        var urls = new List<StepUrl> { new("report", "https://example.org/r") };
        var build = NewBuild("linux", 1) with { SourceStamps = stamps, Properties = properties };
        await Store.ApplyAsync(new WriteBatch
        {
            Builders = [new StoredBuilder("linux", null, tags)],
            Builds = [build],
            Steps = [NewStep(new StepKey("linux", 1, 1)) with { Urls = urls }],
        });

        stamps.Clear();
        properties["owner"] = new PropertyValue("mallory", "test");
        tags.Add("changed");
        urls.Clear();

        var stored = await Store.GetBuildAsync(build.Key);
        Assert.That(stored!.SourceStamps, Is.EqualTo(new[] { new SourceStamp("repo", "main", "r1") }));
        Assert.That(stored.Properties["owner"].Value, Is.EqualTo("alice"));
        Assert.That((await Store.GetBuilderAsync("linux"))!.Tags, Is.EqualTo(new[] { "nightly" }));
        Assert.That((await Store.GetStepsAsync(build.Key))[0].Urls, Has.Count.EqualTo(1));
    }

    /// <summary>
    /// Changing a returned row's collections (where they can be changed at all) changes neither the store nor a later
    /// read, and a later write does not change a row already returned.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task Reads_CallerMutatesReturnedRows_StoredRowsUnchanged()
    {
        var build = NewBuild("linux", 1) with { Properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["owner"] = new("alice", "test") } };
        await Store.ApplyAsync(new WriteBatch { Builders = [new StoredBuilder("linux", null, ["a"])], Builds = [build] });

        var read = await Store.GetBuildAsync(build.Key);
        var page = await Store.QueryBuildsAsync(new BuildQuery("linux"));
        var builder = await Store.GetBuilderAsync("linux");
        TryClear(read!.SourceStamps);
        TryClear(page[0].SourceStamps);
        TryClear(builder!.Tags);
        if (read.Properties is IDictionary<string, PropertyValue> { IsReadOnly: false } properties)
        {
            properties.Clear();
        }

        if (page is IList<StoredBuild> { IsReadOnly: false } list)
        {
            list.Clear();
        }

        await Store.ApplyAsync(new WriteBatch { Builds = [build with { StateText = "changed", SourceStamps = [] }] });

        AssertSameBuild(await Store.GetBuildAsync(build.Key), build with { StateText = "changed", SourceStamps = [] });
        Assert.That((await Store.GetBuilderAsync("linux"))!.Tags, Is.EqualTo(new[] { "a" }));
        var again = await Store.QueryBuildsAsync(new BuildQuery("linux"));
        Assert.That(again, Has.Count.EqualTo(1));
        Assert.That(again[0].Properties["owner"].Value, Is.EqualTo("alice"));
        Assert.That(read.StateText, Is.EqualTo("building"), "a row already returned must not change");

        static void TryClear<T>(IReadOnlyList<T> items)
        {
            if (items is IList<T> { IsReadOnly: false } mutable)
            {
                mutable.Clear();
            }
            else if (items is T[] array && array.Length > 0)
            {
                array[0] = default!;
            }
        }
    }
}
