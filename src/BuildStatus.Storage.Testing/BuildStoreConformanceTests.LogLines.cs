using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content><see cref="IBuildStore.ReadLogLinesAsync"/>: ranges within and across chunks, and the edges.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>A range inside one chunk returns just those lines.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_RangeWithinOneChunk_ReturnsThoseLines()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 30, 10);

        var lines = await Store.ReadLogLinesAsync(log, 12, 5);

        Assert.That(lines, Is.EqualTo(NewChunk(log, 12, 5).Lines));
    }

    /// <summary>A range across several chunk boundaries returns the lines in order without gaps or repeats.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_RangeAcrossChunks_ReturnsLinesInOrder()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 7, 7);
        await AppendLinesAsync(log, 7, 1, 1);
        await AppendLinesAsync(log, 8, 12, 4);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.ReadLogLinesAsync(log, 5, 10), Is.EqualTo(NewChunk(log, 5, 10).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 7, 1), Is.EqualTo(NewChunk(log, 7, 1).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 0, 20), Is.EqualTo(NewChunk(log, 0, 20).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 19, 1), Is.EqualTo(NewChunk(log, 19, 1).Lines));
        }
    }

    /// <summary>Asking for more lines than remain returns the rest; from the end or past it returns nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_AtOrPastTheEnd_ReturnsRestOrNothing()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 10, 4);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.ReadLogLinesAsync(log, 6, 100), Is.EqualTo(NewChunk(log, 6, 4).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 0, int.MaxValue), Is.EqualTo(NewChunk(log, 0, 10).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 10, 5), Is.Empty);
            Assert.That(await Store.ReadLogLinesAsync(log, 1_000_000_000_000L, 5), Is.Empty);
        }
    }

    /// <summary>Zero lines asked for, zero lines returned.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_MaxLinesZero_ReturnsNothing()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 10, 10);

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 0), Is.Empty);
        Assert.That(await Store.ReadLogLinesAsync(log, 5, 0), Is.Empty);
    }

    /// <summary>A log with no lines, and a log that does not exist, read as empty.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_EmptyOrUnknownLog_ReturnsNothing()
    {
        var log = await SeedLogAsync();

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 10), Is.Empty);
        Assert.That(await Store.ReadLogLinesAsync(new LogKey("nope", 1, 1, 1), 0, 10), Is.Empty);
        Assert.That(await Store.ReadLogLinesAsync(log with { BuildNumber = 2 }, 0, 10), Is.Empty);
    }

    /// <summary>A large log (5,000 lines in chunks of 1,000) reads back whole and by range.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_LargeLog_ReadsWholeAndByRange()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 5000, 1000);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Store.ReadLogLinesAsync(log, 0, 5000), Is.EqualTo(NewChunk(log, 0, 5000).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 2990, 20), Is.EqualTo(NewChunk(log, 2990, 20).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 4999, 10), Is.EqualTo(NewChunk(log, 4999, 1).Lines));
            Assert.That(await Store.ReadLogLinesAsync(log, 1000, 1000), Is.EqualTo(NewChunk(log, 1000, 1000).Lines));
        }
    }

    /// <summary>Lines of one log are not mixed with lines of the build's other logs.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadLogLinesAsync_SeveralLogs_ReturnsOnlyThatLogsLines()
    {
        var first = await SeedLogAsync();
        var second = first with { StepNumber = 2 };
        await Store.ApplyAsync(new WriteBatch { Steps = [NewStep(second.Step)], Logs = [NewLog(second)] });
        var secondLines = new StoredLogChunk(second, [new LogLine(0, LogChannel.Stderr, "other")]);

        await Store.ApplyAsync(new WriteBatch { LogChunks = [NewChunk(first, 0, 3), secondLines] });

        Assert.That(await Store.ReadLogLinesAsync(first, 0, 10), Is.EqualTo(NewChunk(first, 0, 3).Lines));
        Assert.That(await Store.ReadLogLinesAsync(second, 0, 10), Is.EqualTo(secondLines.Lines));
    }
}
