using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Core.Tests.Persistence;

/// <summary>Core checks arguments before any store call: a store is never called with a null key or an out-of-range range.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class HistoryArgumentTests
{
    [Test]
    public async Task History_InvalidArguments_ThrowBeforeTheStoreIsCalled()
    {
        var store = new CountingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var history = t.Host.History;
        var before = store.Reads;

        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(() => history.GetBuilderAsync(null!))!.ParamName, Is.EqualTo("name"));
        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(() => history.GetWorkerAsync(null!))!.ParamName, Is.EqualTo("name"));
        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(() => history.GetBuildAsync(null!, 1))!.ParamName, Is.EqualTo("builderName"));
        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(() => history.QueryBuildsAsync(null!))!.ParamName, Is.EqualTo("query"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => history.QueryBuildsAsync(new BuildQuery("b") { Limit = 0 }))!.ParamName, Is.EqualTo("Limit"));
        Assert.That(Assert.ThrowsAsync<ArgumentException>(() => history.QueryBuildsAsync(new BuildQuery(string.Empty)))!.ParamName, Is.EqualTo("BuilderName"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => history.EnumerateBuildsAsync(null!))!.ParamName, Is.EqualTo("query"));

        Assert.That(store.Reads, Is.EqualTo(before), "no invalid call may reach the store");
    }

    [Test]
    public async Task LogReadLines_NegativeRange_ThrowsBeforeTheStoreIsCalled()
    {
        var store = new CountingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendAsync(LogChannel.Stdout, "a\n");
        await build.FinishAsync(BuildResult.Success);
        var stored = (await (await (await t.Host.History.GetBuildAsync(build.Builder.Name, build.Number))!.GetStepsAsync())[0].GetLogsAsync())[0];
        var before = store.Reads;

        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stored.ReadLinesAsync(-1, 1))!.ParamName, Is.EqualTo("firstLine"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stored.ReadLinesAsync(0, -1))!.ParamName, Is.EqualTo("maxLines"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stored.FollowAsync(-1))!.ParamName, Is.EqualTo("firstLine"));

        Assert.That(store.Reads, Is.EqualTo(before));
        Assert.That(await stored.ReadLinesAsync(0, 10), Has.Count.EqualTo(1));
    }

    // Counts the reads that reach the store.
    private sealed class CountingStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public override Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => Count(() => Inner.GetBuilderAsync(name, cancellationToken));

        public override Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => Count(() => Inner.GetWorkerAsync(name, cancellationToken));

        public override Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => Count(() => Inner.GetBuildAsync(key, cancellationToken));

        public override Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => Count(() => Inner.QueryBuildsAsync(query, cancellationToken));

        public override Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default)
            => Count(() => Inner.ReadLogLinesAsync(log, firstLine, maxLines, cancellationToken));

        private Task<T> Count<T>(Func<Task<T>> call)
        {
            Interlocked.Increment(ref _reads);
            return call();
        }
    }
}
