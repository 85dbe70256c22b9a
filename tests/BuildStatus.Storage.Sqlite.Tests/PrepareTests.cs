namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>
/// <see cref="SqliteBuildStore.PrepareAsync"/> compresses a batch's chunks ahead of its <see cref="SqliteBuildStore.ApplyAsync"/>:
/// the stored result must be the same whether or not the batch was prepared, and a prepared batch that is never
/// applied must change nothing.
/// </summary>
public sealed class PrepareTests
{
    [TestCase(true)]
    [TestCase(false)]
    public async Task ApplyAsync_PreparedOrNot_StoresTheSameLines(bool prepare)
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);
        var batch = new WriteBatch { LogChunks = TestData.Chunks(log, 0, 1000, 100, TestData.CompilerLine) };

        if (prepare)
        {
            await store.PrepareAsync(batch);
        }

        await store.ApplyAsync(batch);

        var lines = await store.ReadLogLinesAsync(log, 0, 2000);
        Assert.That(lines, Is.EqualTo(batch.LogChunks.SelectMany(c => c.Lines)));
    }

    [Test]
    public async Task PrepareAsync_BatchNeverApplied_StoresNothing()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);

        await store.PrepareAsync(new WriteBatch { LogChunks = TestData.Chunks(log, 0, 10, 10, TestData.CompilerLine) });

        Assert.That(await store.ReadLogLinesAsync(log, 0, 100), Is.Empty);
    }

    [Test]
    public async Task PrepareAsync_Cancelled_Throws()
    {
        await using var test = new TestStore();
        var store = test.Open();
        Assert.ThrowsAsync<OperationCanceledException>(() => store.PrepareAsync(new WriteBatch(), new CancellationToken(canceled: true)));
    }
}
