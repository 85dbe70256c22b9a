using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class BuildNumberTests
{
    [Test]
    public async Task CreateBuildAsync_TwoStoresOnOneFileConcurrently_AllocatesUniqueContiguousNumbers()
    {
        await using var test = new TestStore();
        var first = await test.OpenInitializedAsync();
        var second = await test.OpenInitializedAsync();

        var tasks = Enumerable.Range(0, 60)
            .Select(i => Task.Run(() => (i % 2 == 0 ? first : second).CreateBuildAsync(TestData.Build())))
            .ToList();
        var numbers = await Task.WhenAll(tasks);

        Assert.That(numbers.Order(), Is.EqualTo(Enumerable.Range(1, 60)));
    }

    [Test]
    public async Task CreateBuildAsync_NewBuilder_StartsAtOneAndCreatesBuilderRow()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();

        var a = await store.CreateBuildAsync(TestData.Build("a"));
        var b = await store.CreateBuildAsync(TestData.Build("b"));
        var a2 = await store.CreateBuildAsync(TestData.Build("a", number: 77));

        await Assert.MultipleAsync(async () =>
        {
            Assert.That((a, b, a2), Is.EqualTo((1, 1, 2)));
            Assert.That((await store.GetBuildersAsync()).Select(x => x.Name), Is.EqualTo(new[] { "a", "b" }));
        });
    }

    [Test]
    public async Task CreateBuildAsync_AfterHigherNumberWrittenByBatch_ContinuesAboveIt()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(number: 41)] });

        Assert.That(await store.CreateBuildAsync(TestData.Build()), Is.EqualTo(42));
    }

    [Test]
    public async Task CreateBuildAsync_AfterNewestBuildsPruned_DoesNotReuseNumbers()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        for (var i = 1; i <= 3; i++)
        {
            var n = await store.CreateBuildAsync(TestData.Build());
            await store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(number: n, finishedAt: TestData.T0.AddMinutes(1))] });
        }

        var pruned = await store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 0 }, TestData.T0.AddDays(1));

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(pruned.BuildsDeleted, Is.EqualTo(3));
            Assert.That(await store.CreateBuildAsync(TestData.Build()), Is.EqualTo(4));
        });
    }
}
