using BuildStatus.Storage;
using NUnit.Framework;

namespace BuildStatus.Core.Tests.Storage;

// What the conformance suite leaves to each backend: disposal and the in-memory store's own rejections.
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class InMemoryBuildStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task Members_AfterDispose_ThrowObjectDisposedException()
    {
        var store = new InMemoryBuildStore();
        await store.InitializeAsync();
        await store.CreateBuildAsync(NewBuild(0));

        await store.DisposeAsync();
        await store.DisposeAsync();

        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.InitializeAsync());
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ApplyAsync(new WriteBatch()));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.CreateBuildAsync(NewBuild(0)));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.GetBuildAsync(new BuildKey("linux", 1)));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.QueryBuildsAsync(new BuildQuery("linux")));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ReadLogLinesAsync(new LogKey("linux", 1, 1, 1), 0, 1));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 1 }, T0));
    }

    [Test]
    public async Task ApplyAsync_RuleBroken_FaultsWithBatchRejectedExceptionNamingTheRow()
    {
        await using var store = new InMemoryBuildStore();
        var step = new StoredStep(new StepKey("linux", 9, 1), "compile", "", null, null, null, [], new Dictionary<string, double>(), false);

        var exception = Assert.ThrowsAsync<BatchRejectedException>(async () => await store.ApplyAsync(new WriteBatch { Steps = [step] }));

        Assert.That(exception!.Message, Does.Contain("step").And.Contain("does not exist"));
        Assert.That(exception.Keys, Is.EqualTo(new object[] { step.Key }));
    }

    [Test]
    public void StoredLogChunk_NotNumberedConsecutively_ThrowsBeforeAnyStoreSeesIt()
    {
        var log = new LogKey("linux", 1, 1, 1);

        var exception = Assert.Throws<ArgumentException>(() => new StoredLogChunk(log, [new LogLine(0, LogChannel.Stdout, "a"), new LogLine(2, LogChannel.Stdout, "b")]));

        Assert.That(exception!.ParamName, Is.EqualTo("lines"));
        Assert.That(exception.Message, Does.Contain("line 2 at position 1").And.Contain("consecutively"));
    }

    [Test]
    public async Task ApplyAsync_KeyTwiceInOneList_ThrowsBatchRejectedExceptionNamingTheKey()
    {
        await using var store = new InMemoryBuildStore();

        var exception = Assert.ThrowsAsync<BatchRejectedException>(async () => await store.ApplyAsync(new WriteBatch { Builds = [NewBuild(1), NewBuild(1)] }));

        Assert.That(exception!.Keys, Is.EqualTo(new object[] { new BuildKey("linux", 1) }));
        Assert.That(await store.GetBuildersAsync(), Is.Empty);
    }

    private static StoredBuild NewBuild(int number) =>
        new("linux", number, "host-a", null, [], [], [], null, new Dictionary<string, PropertyValue>(), T0, null, "building", null);
}
