using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>
/// Build starts that queue behind the writer are created together in one transaction; each caller must still get
/// the number of its own row, one bad build must fail only its own call, and a cancelled start must leave no row.
/// The writer is held up by a second connection that owns SQLite's write lock, so the starts really do queue.
/// </summary>
public sealed class BuildStartGroupingTests
{
    [Test]
    public async Task CreateBuildAsync_ManyQueuedBehindWriter_EachCallerGetsTheNumberOfItsOwnRow()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var builders = new[] { "a", "b", "c" };

        List<Task<int>> starts;
        using (var blocker = BlockWriter(test))
        {
            // Start 0 takes the writer and waits inside SQLite; the other 59 queue behind it.
            Task<int> Start(int i) => Task.Run(() => store.CreateBuildAsync(TestData.Build(builders[i % 3]) with { Reason = $"start {i}" }));
            starts = [Start(0)];
            await WaitUntilAsync(() => store.IsWriting && store.QueuedBuildStarts == 0);
            starts.AddRange(Enumerable.Range(1, 59).Select(Start));
            await WaitUntilAsync(() => store.QueuedBuildStarts == 59);
            blocker.Commit();
        }

        var numbers = await Task.WhenAll(starts);

        await Assert.MultipleAsync(async () =>
        {
            foreach (var builder in builders)
            {
                var mine = Enumerable.Range(0, 60).Where(i => i % 3 == Array.IndexOf(builders, builder)).Select(i => numbers[i]);
                Assert.That(mine.Order(), Is.EqualTo(Enumerable.Range(1, 20)), builder);
            }

            for (var i = 0; i < 60; i++)
            {
                var stored = await store.GetBuildAsync(new BuildKey(builders[i % 3], numbers[i]));
                Assert.That(stored?.Reason, Is.EqualTo($"start {i}"), $"start {i} got number {numbers[i]}");
            }
        });
    }

    [Test]
    public async Task CreateBuildAsync_BadBuildQueuedWithGoodOnes_FailsAloneAndTheOthersAreNumberedContiguously()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();

        Task<int> first;
        List<Task<int>> rest;
        using (var blocker = BlockWriter(test))
        {
            // The first start takes the writer and waits inside SQLite; the next five queue behind it as one group.
            first = Task.Run(() => store.CreateBuildAsync(TestData.Build()));
            await WaitUntilAsync(() => store.IsWriting && store.QueuedBuildStarts == 0);
            rest = Enumerable.Range(0, 5)
                .Select(i => Task.Run(() => store.CreateBuildAsync(i == 2 ? TestData.Build() with { HostName = null! } : TestData.Build())))
                .ToList();
            await WaitUntilAsync(() => store.QueuedBuildStarts == 5);
            blocker.Commit();
        }

        Assert.ThrowsAsync<ArgumentException>(async () => await rest[2]);
        var good = await Task.WhenAll(rest.Where((_, i) => i != 2).Append(first));
        Assert.That(good.Order(), Is.EqualTo(Enumerable.Range(1, 5)));
        Assert.That(await store.CreateBuildAsync(TestData.Build()), Is.EqualTo(6));
    }

    [Test]
    public async Task CreateBuildAsync_CancelledWhileQueued_ThrowsAndStoresNothing()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        using var cts = new CancellationTokenSource();

        Task<int> first, cancelled;
        using (var blocker = BlockWriter(test))
        {
            first = Task.Run(() => store.CreateBuildAsync(TestData.Build()));
            await WaitUntilAsync(() => store.IsWriting && store.QueuedBuildStarts == 0);
            cancelled = Task.Run(() => store.CreateBuildAsync(TestData.Build("other"), cts.Token));
            await WaitUntilAsync(() => store.QueuedBuildStarts == 1);
            await cts.CancelAsync();
            Assert.CatchAsync<OperationCanceledException>(async () => await cancelled);
            blocker.Commit();
        }

        Assert.That(await first, Is.EqualTo(1));
        Assert.That(await store.QueryBuildsAsync(new BuildQuery("other")), Is.Empty);
        Assert.That(await store.CreateBuildAsync(TestData.Build("other")), Is.EqualTo(1));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out waiting for the build starts to queue");
            await Task.Delay(5);
        }
    }

    // Holds SQLite's write lock on a second connection until committed or disposed.
    private static Blocker BlockWriter(TestStore test) => new(test.Connect());

    private sealed class Blocker : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteTransaction _transaction;

        public Blocker(SqliteConnection connection)
        {
            _connection = connection;
            _transaction = connection.BeginTransaction(deferred: false);
        }

        public void Commit() => _transaction.Commit();

        public void Dispose()
        {
            _transaction.Dispose();
            _connection.Dispose();
        }
    }
}
