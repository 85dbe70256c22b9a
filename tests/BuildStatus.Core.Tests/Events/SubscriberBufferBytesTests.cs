using BuildStatus.Core.Tests.Support;

namespace BuildStatus.Core.Tests.Events;

/// <summary>Subscriber buffers are bounded by the bytes of log text they hold, as well as by their event count.</summary>
[TestFixture]
public sealed class SubscriberBufferBytesTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task WatchAsync_LargeLogChunksBeyondTheByteBound_AreDroppedAndCountedThenDeliveryResumes()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        using var timeout = new CancellationTokenSource(Limit);

        // 100,000 bytes hold one 30,000-char line (60,000 bytes) but not two.
        var stream = t.Host.WatchAsync(new StatusEventFilter { Kinds = StatusEventKinds.LogChunk, BufferBytes = 100_000 }, timeout.Token);
        var line = new string('x', 30_000);
        for (var i = 0; i < 5; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, line);
        }

        await using var events = stream.GetAsyncEnumerator(timeout.Token);
        var seen = new List<StatusEvent>();
        for (var i = 0; i < 2; i++)
        {
            Assert.That(await events.MoveNextAsync(), Is.True);
            seen.Add(events.Current);
        }

        await log.AppendLineAsync(LogChannel.Stdout, "after");
        Assert.That(await events.MoveNextAsync(), Is.True);
        seen.Add(events.Current);
        await build.FinishAsync();

        Assert.Multiple(() =>
        {
            Assert.That(seen[0], Is.TypeOf<LogChunk>());
            Assert.That(((LogChunk)seen[0]).Lines.Single().Number, Is.EqualTo(0));
            Assert.That(seen[1], Is.TypeOf<EventsMissed>().With.Property(nameof(EventsMissed.Count)).EqualTo(4));
            Assert.That(((LogChunk)seen[2]).Lines.Single().Text, Is.EqualTo("after"), "the bytes were given back when the consumer took the chunk");
        });
    }

    [Test]
    public async Task WatchAsync_OneChunkLargerThanTheByteBound_IsDeliveredWhenTheBufferIsEmpty()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        using var timeout = new CancellationTokenSource(Limit);
        var stream = t.Host.WatchAsync(new StatusEventFilter { Kinds = StatusEventKinds.LogChunk, BufferBytes = 1_000 }, timeout.Token);

        await log.AppendAsync(LogChannel.Stdout, string.Join('\n', Enumerable.Repeat(new string('y', 100), 50)) + "\n");
        await log.AppendLineAsync(LogChannel.Stdout, "dropped");
        await using var events = stream.GetAsyncEnumerator(timeout.Token);

        Assert.That(await events.MoveNextAsync(), Is.True);
        Assert.That(((LogChunk)events.Current).Lines, Has.Count.EqualTo(50));
        Assert.That(await events.MoveNextAsync(), Is.True);
        Assert.That(events.Current, Is.TypeOf<EventsMissed>().With.Property(nameof(EventsMissed.Count)).EqualTo(1));
        await build.FinishAsync();
    }

    [Test]
    public async Task Subscribe_BlockedReceiverWithDefaultOptionBound_HoldsAtMostTheOptionsBytes()
    {
        await using var t = await TestHost.StartAsync(o => o.SubscriberBufferBytes = 64 * 1024);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new List<StatusEvent>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = t.Host.Subscribe(
            new Fakes.RecordingReceiver(async (e, ct) =>
            {
                lock (received)
                {
                    received.Add(e);
                }

                first.TrySetResult();
                await release.Task.WaitAsync(ct);
            }),
            new StatusEventFilter { Kinds = StatusEventKinds.LogChunk });

        // The receiver takes the first chunk and blocks; then 100 chunks of 20,000 bytes meet a 64 KiB bound.
        await log.AppendLineAsync(LogChannel.Stdout, "first");
        await first.Task.WaitAsync(Limit);
        var line = new string('z', 10_000);
        for (var i = 0; i < 100; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, line);
        }

        Assert.That(subscription.Missed, Is.EqualTo(100 - 3), "three 20,000-byte chunks fit in 64 KiB");
        release.SetResult();
        await build.FinishAsync();
    }

    [Test]
    public void Options_SubscriberBufferBytesBelow64KiB_FailValidationAtStart()
    {
        Assert.That(
            async () => await TestHost.StartAsync(o => o.SubscriberBufferBytes = 1000),
            Throws.InstanceOf<Microsoft.Extensions.Options.OptionsValidationException>().With.Message.Contain("SubscriberBufferBytes"));
    }
}
