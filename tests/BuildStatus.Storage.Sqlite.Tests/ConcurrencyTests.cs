using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class ConcurrencyTests
{
    [Test]
    public async Task QueryBuildsAsync_WhileAnotherWriteTransactionIsOpen_CompletesAndSeesCommittedState()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        await store.CreateBuildAsync(TestData.Build());
        using var writer = test.Connect();
        using var transaction = writer.BeginTransaction(deferred: false);
        using (var insert = writer.CreateCommand())
        {
            insert.CommandText = "UPDATE builds SET state_text = 'uncommitted'";
            insert.ExecuteNonQuery();
        }

        // The store's own writer now waits for that transaction, holding the store's write lock.
        var blockedWrite = Task.Run(() => store.CreateBuildAsync(TestData.Build()));
        await Task.Delay(100);
        var read = Task.Run(() => store.QueryBuildsAsync(new BuildQuery("linux")));
        var finished = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(3)));
        var blockedMeanwhile = !blockedWrite.IsCompleted;
        transaction.Commit();

        Assert.Multiple(async () =>
        {
            Assert.That(finished, Is.SameAs(read), "the read waited for the write transaction");
            Assert.That(blockedMeanwhile, Is.True, "the write should have been waiting for the other transaction");
            Assert.That((await read).Select(b => b.StateText), Is.EqualTo(new[] { "building" }));
            Assert.That(await blockedWrite, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task ApplyAsync_WriteLockHeldLongerThanBusyTimeout_ThrowsAndStoreRecovers()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o => o.BusyTimeout = TimeSpan.FromMilliseconds(200));
        using (var writer = test.Connect())
        {
            using var transaction = writer.BeginTransaction(deferred: false);
            Assert.That(() => store.CreateBuildAsync(TestData.Build()), Throws.InstanceOf<Microsoft.Data.Sqlite.SqliteException>());
            transaction.Rollback();
        }

        Assert.That(await store.CreateBuildAsync(TestData.Build()), Is.EqualTo(1));
    }

    [Test]
    public async Task ApplyAsync_CanceledToken_ThrowsBeforeWriting()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Assert.That(() => store.ApplyAsync(new WriteBatch { Builds = [TestData.Build(number: 1)] }, cts.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await store.GetBuildAsync(new BuildKey("linux", 1)), Is.Null);
    }
}
