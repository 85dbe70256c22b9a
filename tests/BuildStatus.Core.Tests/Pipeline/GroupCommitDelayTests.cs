using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BuildStatus.Core.Tests.Pipeline;

/// <summary>
/// <see cref="BuildStatusOptions.GroupCommitDelay"/>: changes nobody waits for are gathered into few commits, and
/// anything that waits for durability (a flush, a finish) is not held up by the delay.
/// </summary>
[TestFixture]
public sealed class GroupCommitDelayTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task LinesTrickling_AreCommittedInFarFewerBatchesThanLines()
    {
        var store = new RecordingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => o.GroupCommitDelay = TimeSpan.FromMilliseconds(50), store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.Host.FlushAsync().WaitAsync(Limit);
        var before = store.Batches.Count;

        // A line about every millisecond, as a quiet build step prints: without the delay each would be a commit.
        for (var i = 0; i < 200; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
            await Task.Delay(1);
        }

        await t.Host.FlushAsync().WaitAsync(Limit);

        var lines = await log.Persistent.ReadLinesAsync().WaitAsync(Limit);
        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, 200).Select(i => $"line {i}")));
            Assert.That(store.Batches.Count - before, Is.LessThan(60), "200 lines over a few 50 ms windows need a few commits, not one each");
        });
    }

    [Test]
    public async Task FlushDuringTheDelay_DoesNotWaitForIt()
    {
        var store = new RecordingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => o.GroupCommitDelay = TimeSpan.FromSeconds(1), store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.Host.FlushAsync().WaitAsync(Limit);

        // This wakes the idle writer, which then lingers for up to a second; the flush cuts that short.
        await log.AppendLineAsync(LogChannel.Stdout, "one");
        var flush = t.Host.FlushAsync();

        Assert.That(async () => await flush.WaitAsync(TimeSpan.FromMilliseconds(700)), Throws.Nothing, "the flush is served long before the 1 s delay ends");
        Assert.That(log.Persistent.LineCount, Is.EqualTo(1));
    }

    [TestCase(-1)]
    [TestCase(1001)]
    public void Options_DelayOutOfRange_IsRejectedNamingTheOption(int milliseconds)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseInMemoryStorage().Configure(o => o.GroupCommitDelay = TimeSpan.FromMilliseconds(milliseconds)));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => provider.GetRequiredService<IBuildStatusHost>().StartAsync());
        Assert.That(ex!.Failures, Has.Some.Contains("GroupCommitDelay"));
    }
}
