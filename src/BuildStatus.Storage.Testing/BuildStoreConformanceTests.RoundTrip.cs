using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Every field of every row comes back as it was written.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>A builder with a description and tags (tricky text included) round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuilderWithAllFields_RoundTrips()
    {
        var builder = new StoredBuilder("linux-x64", "Builds on \"Linux\" ✓ 'x'; --", [.. TrickyStrings, "tag"]);

        await Store.ApplyAsync(new WriteBatch { Builders = [builder] });

        AssertSameBuilder(await Store.GetBuilderAsync("linux-x64"), builder);
    }

    /// <summary>A builder with a null description and no tags round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuilderWithNullOptionals_RoundTrips()
    {
        var builder = new StoredBuilder("bare", null, []);

        await Store.ApplyAsync(new WriteBatch { Builders = [builder] });

        AssertSameBuilder(await Store.GetBuilderAsync("bare"), builder);
    }

    /// <summary>A worker with host, info and last-seen time (with a non-zero offset) round-trips as the same instant with offset zero.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_WorkerWithAllFields_RoundTrips()
    {
        var info = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["os"] = "Linux 6.8",
            ["admin"] = "José <jose@example.org>",
            ["quote"] = "'; DROP TABLE workers; --",
            ["empty"] = string.Empty,
            ["日本"] = "🚀",
        };
        var worker = new StoredWorker("worker-1", "build01.example.org", info, IsConnected: true, new DateTimeOffset(2026, 3, 1, 17, 30, 15, 123, TimeSpan.FromHours(5.5)));

        await Store.ApplyAsync(new WriteBatch { Workers = [worker] });

        AssertSameWorker(await Store.GetWorkerAsync("worker-1"), worker);
    }

    /// <summary>A worker with null optionals and no info round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_WorkerWithNullOptionals_RoundTrips()
    {
        var worker = new StoredWorker("worker-2", null, new Dictionary<string, string>(StringComparer.Ordinal), IsConnected: false, null);

        await Store.ApplyAsync(new WriteBatch { Workers = [worker] });

        AssertSameWorker(await Store.GetWorkerAsync("worker-2"), worker);
    }

    /// <summary>A finished build with every field set (several stamps, changes, users, tricky properties, non-zero offsets) round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuildWithAllFields_RoundTrips()
    {
        var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal)
        {
            ["branch"] = new("main", "Scheduler"),
            ["got_revision"] = new("0123456789abcdef", "Worker"),
            ["empty"] = new(string.Empty, "Build"),
        };
        for (var i = 0; i < TrickyStrings.Length; i++)
        {
            properties["tricky" + Text(i)] = new PropertyValue(TrickyStrings[i], TrickyStrings[(i + 1) % TrickyStrings.Length]);
        }

        var build = new StoredBuild(
            "linux",
            7,
            "host-a",
            "'; DROP TABLE builds; -- 日本語 🚀",
            [
                new SourceStamp("https://example.org/app.git", "main", "abc123", "app", "app"),
                new SourceStamp("https://example.org/lib.git", null, null, null, null),
                new SourceStamp(@"C:\repos\100%_done", "feature/ü", "def456", "lib", "lib"),
            ],
            [new BuildChange("abc123", "Ann <ann@example.org>", "Fix \"quotes\"\nand newlines"), new BuildChange("def456", "Bob", null)],
            ["Ann <ann@example.org>", "Bob", "李"],
            "worker-1",
            properties,
            new DateTimeOffset(2026, 3, 1, 5, 0, 0, 250, TimeSpan.FromHours(-7)),
            new DateTimeOffset(2026, 3, 1, 14, 5, 30, 999, TimeSpan.FromHours(2)),
            "failed compile",
            BuildResult.Failure);

        await Store.ApplyAsync(new WriteBatch { Builds = [build] });

        AssertSameBuild(await Store.GetBuildAsync(build.Key), build);
    }

    /// <summary>An unfinished build with null optionals and empty collections round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_BuildWithNullOptionalsAndEmptyCollections_RoundTrips()
    {
        var build = new StoredBuild("linux", 1, "host-a", null, [], [], [], null, new Dictionary<string, PropertyValue>(StringComparer.Ordinal), T0, null, string.Empty, null);

        await Store.ApplyAsync(new WriteBatch { Builds = [build] });

        var stored = await Store.GetBuildAsync(build.Key);
        AssertSameBuild(stored, build);
        Assert.That(stored!.IsFinished, Is.False);
    }

    /// <summary>Every build result value round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_EveryResult_RoundTrips()
    {
        var results = Enum.GetValues<BuildResult>();
        var builds = results.Select((r, i) => Finish(NewBuild("linux", i + 1), T0.AddHours(1), r)).ToArray();

        await Store.ApplyAsync(new WriteBatch { Builds = builds });

        foreach (var build in builds)
        {
            Assert.That((await Store.GetBuildAsync(build.Key))?.Result, Is.EqualTo(build.Result));
        }
    }

    /// <summary>A hidden, finished step with URLs and statistics round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_StepWithAllFields_RoundTrips()
    {
        var step = new StoredStep(
            new StepKey("linux", 1, 3),
            "test 'unit' 🚀",
            "3 failed; 97 passed",
            new DateTimeOffset(2026, 3, 1, 13, 0, 0, 1, TimeSpan.FromHours(1)),
            new DateTimeOffset(2026, 3, 1, 8, 0, 5, 2, TimeSpan.FromHours(-4)),
            BuildResult.Warnings,
            [new StepUrl("report", "https://example.org/r?a=1&b='x'"), new StepUrl("日本", @"file:///C:/100%_\x")],
            new Dictionary<string, double>(StringComparer.Ordinal) { ["tests"] = 100, ["ratio"] = 0.125, ["tiny"] = -1e-300, ["huge"] = 1.5e300, ["zero"] = 0 },
            IsHidden: true);

        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)], Steps = [step] });

        var steps = await Store.GetStepsAsync(new BuildKey("linux", 1));
        Assert.That(steps, Has.Count.EqualTo(1));
        AssertSameStep(steps[0], step);
    }

    /// <summary>A step with null optionals and no URLs or statistics round-trips.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_StepWithNullOptionals_RoundTrips()
    {
        var step = new StoredStep(new StepKey("linux", 1, 1), string.Empty, string.Empty, null, null, null, [], new Dictionary<string, double>(StringComparer.Ordinal), IsHidden: false);

        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)], Steps = [step] });

        var steps = await Store.GetStepsAsync(new BuildKey("linux", 1));
        Assert.That(steps, Has.Count.EqualTo(1));
        AssertSameStep(steps[0], step);
    }

    /// <summary>Log rows of every kind round-trip, with their counts stored as given (large values included).</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_LogRows_RoundTripWithCountsAsGiven()
    {
        var stepKey = new StepKey("linux", 1, 1);
        StoredLog[] logs =
        [
            new(new LogKey("linux", 1, 1, 1), "stdio", LogKind.Stdio, IsFinished: true, 5_000_000_000L, 9_000_000_000L),
            new(new LogKey("linux", 1, 1, 2), "report 'x' 🚀", LogKind.Html, IsFinished: false, 3, 0),
            new(new LogKey("linux", 1, 1, 3), string.Empty, LogKind.Text, IsFinished: false, 0, 0),
        ];

        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)], Steps = [NewStep(stepKey)], Logs = logs });

        Assert.That(await Store.GetLogsAsync(stepKey), Is.EqualTo(logs));
        Assert.That(await Store.GetLogAsync(logs[1].Key), Is.EqualTo(logs[1]));
    }

    /// <summary>Log lines with every channel and tricky text (NUL, control characters, emoji, SQL) come back verbatim.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_TrickyText_ReturnsLinesVerbatim()
    {
        var log = await SeedLogAsync();
        var lines = TrickyStrings.Select((text, i) => new LogLine(i, (LogChannel)(i % 3), text)).ToArray();

        await Store.ApplyAsync(new WriteBatch { LogChunks = [new StoredLogChunk(log, lines)] });

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Is.EqualTo(lines));
    }

    /// <summary>Builder, step and log names with tricky characters work as keys.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_TrickyNamesInKeys_FindsRowsByThem()
    {
        foreach (var name in TrickyStrings.Where(s => s.Length > 0))
        {
            var build = NewBuild(name, 1);
            var step = NewStep(new StepKey(name, 1, 1), name);
            var log = new LogKey(name, 1, 1, 1);
            await Store.ApplyAsync(new WriteBatch { Builders = [new StoredBuilder(name, name, [name])], Builds = [build], Steps = [step], Logs = [NewLog(log, name)], LogChunks = [NewChunk(log, 0, 2)] });
        }

        foreach (var name in TrickyStrings.Where(s => s.Length > 0))
        {
            AssertSameBuilder(await Store.GetBuilderAsync(name), new StoredBuilder(name, name, [name]));
            Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery(name))), Is.EqualTo(new[] { 1 }), name);
            Assert.That((await Store.GetStepsAsync(new BuildKey(name, 1))).Single().Name, Is.EqualTo(name));
            Assert.That(await Store.ReadLogLinesAsync(new LogKey(name, 1, 1, 1), 0, 10), Has.Count.EqualTo(2), name);
        }

        Assert.That((await Store.GetBuildersAsync()).Select(b => b.Name), Is.EquivalentTo(TrickyStrings.Where(s => s.Length > 0)));
    }

    /// <summary>Changing the caller's lists and dictionaries after a write does not change what is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_CallerMutatesInputAfterwards_StoredRowsUnchanged()
    {
        var tags = new List<string> { "a" };
        var stamps = new List<SourceStamp> { new("repo", "main") };
        var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["p"] = new("1", "Build") };
        var build = NewBuild("linux", 1) with { SourceStamps = stamps, Properties = properties };
        await Store.ApplyAsync(new WriteBatch { Builders = [new StoredBuilder("linux", null, tags)], Builds = [build] });

        tags.Add("b");
        stamps.Clear();
        properties["q"] = new("2", "Build");

        Assert.That((await Store.GetBuilderAsync("linux"))!.Tags, Is.EqualTo(new[] { "a" }));
        var stored = await Store.GetBuildAsync(build.Key);
        Assert.That(stored!.SourceStamps, Is.EqualTo(new[] { new SourceStamp("repo", "main") }));
        Assert.That(stored.Properties.Keys, Is.EquivalentTo(new[] { "p" }));
    }

    /// <summary>Changing a list a read returned does not change what is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetBuildersAsync_CallerMutatesResult_StoredRowsUnchanged()
    {
        await Store.ApplyAsync(new WriteBatch { Builders = [new StoredBuilder("a", null, []), new StoredBuilder("b", null, [])] });

        var first = await Store.GetBuildersAsync();
        if (first is IList<StoredBuilder> { IsReadOnly: false } mutable)
        {
            mutable.Clear();
        }

        Assert.That((await Store.GetBuildersAsync()).Select(b => b.Name), Is.EqualTo(new[] { "a", "b" }));
    }

    /// <summary>Reads of keys that were never written return null or empty.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task Reads_UnknownKeys_ReturnNullOrEmpty()
    {
        await SeedLogAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.GetBuilderAsync("nope"), Is.Null);
            Assert.That(await Store.GetWorkerAsync("nope"), Is.Null);
            Assert.That(await Store.GetBuildAsync(new BuildKey("linux", 2)), Is.Null);
            Assert.That(await Store.GetBuildAsync(new BuildKey("nope", 1)), Is.Null);
            Assert.That(await Store.GetStepsAsync(new BuildKey("linux", 2)), Is.Empty);
            Assert.That(await Store.GetLogsAsync(new StepKey("linux", 1, 2)), Is.Empty);
            Assert.That(await Store.GetLogAsync(new LogKey("linux", 1, 1, 2)), Is.Null);
            Assert.That(await Store.ReadLogLinesAsync(new LogKey("linux", 1, 1, 2), 0, 10), Is.Empty);
            Assert.That(await Store.GetWorkersAsync(), Is.Empty);
        }
    }

    /// <summary>Initializing an initialized store again keeps its data.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task InitializeAsync_CalledAgain_KeepsData()
    {
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)] });

        await Store.InitializeAsync();
        await Store.InitializeAsync();

        Assert.That(await Store.GetBuildAsync(new BuildKey("linux", 1)), Is.Not.Null);
    }
}
