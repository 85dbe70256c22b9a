using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Build number allocation by <see cref="IBuildStore.CreateBuildAsync"/>.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>The first build of a builder is number 1 and is stored with every field of the argument.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_FirstBuild_IsNumberOneAndStored()
    {
        var build = NewBuild("linux", 999) with { Properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["p"] = new("v", "s") } };

        var number = await Store.CreateBuildAsync(build);

        Assert.That(number, Is.EqualTo(1));
        AssertSameBuild(await Store.GetBuildAsync(new BuildKey("linux", 1)), build with { Number = 1 });
        Assert.That(await Store.GetBuildAsync(new BuildKey("linux", 999)), Is.Null);
    }

    /// <summary>Successive builds of a builder get successive numbers.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_Repeated_Increments()
    {
        var numbers = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            numbers.Add(await Store.CreateBuildAsync(NewBuild("linux", 0)));
        }

        Assert.That(numbers, Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("linux"))), Is.EqualTo(new[] { 5, 4, 3, 2, 1 }));
    }

    /// <summary>Each builder has its own sequence.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_TwoBuilders_NumberedIndependently()
    {
        await Store.CreateBuildAsync(NewBuild("linux", 0));
        await Store.CreateBuildAsync(NewBuild("linux", 0));

        var windows = await Store.CreateBuildAsync(NewBuild("windows", 0));
        var linux = await Store.CreateBuildAsync(NewBuild("linux", 0));

        Assert.That(windows, Is.EqualTo(1));
        Assert.That(linux, Is.EqualTo(3));
    }

    /// <summary>Allocation continues after the highest stored number, even one that was upserted by a batch.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_AfterUpsertedHigherNumber_ContinuesAfterIt()
    {
        await Store.CreateBuildAsync(NewBuild("linux", 0));
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 41)] });

        var number = await Store.CreateBuildAsync(NewBuild("linux", 0));

        Assert.That(number, Is.EqualTo(42));
    }

    /// <summary>Allocation never reuses a number, even after the builds that had the highest numbers were pruned.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_AfterPruningEveryBuild_DoesNotReuseNumbers()
    {
        for (var i = 0; i < 3; i++)
        {
            var number = await Store.CreateBuildAsync(NewBuild("linux", 0));
            await Store.ApplyAsync(new WriteBatch { Builds = [Finish(NewBuild("linux", number), T0)] });
        }

        var pruned = await Store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 0 }, T0.AddDays(1));
        var next = await Store.CreateBuildAsync(NewBuild("linux", 0));

        Assert.That(pruned.BuildsDeleted, Is.EqualTo(3));
        Assert.That(next, Is.EqualTo(4));
    }

    /// <summary>Creating a build of a builder without a row creates a name-only builder; an existing row is kept.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_BuilderRows_CreatedWhenMissingAndKeptWhenPresent()
    {
        var described = new StoredBuilder("described", "keep me", ["t"]);
        await Store.ApplyAsync(new WriteBatch { Builders = [described] });

        await Store.CreateBuildAsync(NewBuild("described", 0));
        await Store.CreateBuildAsync(NewBuild("fresh", 0));

        AssertSameBuilder(await Store.GetBuilderAsync("described"), described);
        AssertSameBuilder(await Store.GetBuilderAsync("fresh"), new StoredBuilder("fresh", null, []));
    }

    /// <summary>Concurrent allocations (8 tasks of 50) get distinct numbers 1 to 400, and every build is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_ConcurrentCallers_AllocateDistinctContiguousNumbers()
    {
        const int Tasks = 8, PerTask = 50;

        var numbers = await AllocateConcurrentlyAsync([Store], Tasks, PerTask);

        Assert.That(numbers.Order(), Is.EqualTo(Enumerable.Range(1, Tasks * PerTask)));
        var stored = await Store.QueryBuildsAsync(new BuildQuery("linux") { Limit = BuildQuery.MaxLimit });
        Assert.That(Numbers(stored), Is.EqualTo(Enumerable.Range(1, Tasks * PerTask).Reverse()));
    }

    /// <summary>Two store instances on one database allocate distinct numbers concurrently (several hosts).</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_TwoInstancesSharingStorage_AllocateDistinctNumbers()
    {
        if (!SupportsSharedInstances)
        {
            Assert.Ignore("The store does not share data between instances.");
        }

        var second = await OpenStoreAsync();

        var numbers = await AllocateConcurrentlyAsync([Store, second], 2, 25);

        Assert.That(numbers.Order(), Is.EqualTo(Enumerable.Range(1, 100)));
        Assert.That(await second.QueryBuildsAsync(new BuildQuery("linux") { Limit = BuildQuery.MaxLimit }), Has.Count.EqualTo(100));
    }

    /// <summary>What one instance writes, another instance on the same database reads.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_TwoInstancesSharingStorage_SeeEachOthersWrites()
    {
        if (!SupportsSharedInstances)
        {
            Assert.Ignore("The store does not share data between instances.");
        }

        var second = await OpenStoreAsync();
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 3, 3);

        Assert.That(await second.ReadLogLinesAsync(log, 0, 10), Is.EqualTo(NewChunk(log, 0, 3).Lines));
        Assert.That(await second.CreateBuildAsync(NewBuild("linux", 0)), Is.EqualTo(2));
    }

    private static async Task<int[]> AllocateConcurrentlyAsync(IReadOnlyList<IBuildStore> stores, int tasksPerStore, int perTask)
    {
        using var start = new ManualResetEventSlim();
        var tasks = new List<Task<List<int>>>();
        foreach (var store in stores)
        {
            for (var t = 0; t < tasksPerStore; t++)
            {
                tasks.Add(Task.Run(async () =>
                {
                    start.Wait();
                    var mine = new List<int>(perTask);
                    for (var i = 0; i < perTask; i++)
                    {
                        mine.Add(await store.CreateBuildAsync(NewBuild("linux", 0)));
                    }

                    return mine;
                }));
            }
        }

        start.Set();
        var results = await Task.WhenAll(tasks);
        return [.. results.SelectMany(r => r)];
    }
}
