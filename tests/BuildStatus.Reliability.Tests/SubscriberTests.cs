using System.Diagnostics;
using BuildStatus.Reliability.Tests.Support;

namespace BuildStatus.Reliability.Tests;

/// <summary>Throwing, blocking and slow subscribers next to a normal one: builds are not slowed, nothing is lost silently.</summary>
[TestFixture]
public sealed class SubscriberTests
{
    private const int Builds = 60;
    private const int Lines = 150;

    [Test]
    [CancelAfter(180_000)]
    public async Task BadSubscribers_DoNotSlowBuilds_NormalSeesAllInOrder_SlowIsToldWhatItMissed(CancellationToken cancellationToken)
    {
        await using var host = await RelHost.StartAsync(() => new InMemoryBuildStore(), o => o.RecentBuildsPerBuilder = 5);
        var normalEvents = new List<StatusEvent>();
        var normal = host.Host.Subscribe(new CollectingReceiver(normalEvents), new StatusEventFilter { BufferCapacity = 10_000_000 });

        // Warm up, then time the same load without and with the bad subscribers (best of two each: ratio, not absolute time).
        await RunLoadAsync(host.Host, "warmup", cancellationToken);
        var baseline = TimeSpan.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            baseline = Min(baseline, await RunLoadAsync(host.Host, "base" + i, cancellationToken));
        }

        var block = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var throwing = new ThrowingReceiver();
        var slowEvents = new List<StatusEvent>();
        var throwingSub = host.Host.Subscribe(throwing);
        var blockingSub = host.Host.Subscribe(new BlockingReceiver(block.Task), new StatusEventFilter { BufferCapacity = 16 });

        // What is published to the slow subscriber: counted by an unbounded subscriber that starts with it (nothing is
        // published between the two calls: the earlier runs are over). Counting the normal subscriber's events from
        // here instead raced with its own delivery, which may still be handing it the earlier runs' events.
        var referenceEvents = new List<StatusEvent>();
        var reference = host.Host.Subscribe(new CollectingReceiver(referenceEvents), new StatusEventFilter { BufferCapacity = 10_000_000 });
        var slowSub = host.Host.Subscribe(new SlowReceiver(slowEvents), new StatusEventFilter { BufferCapacity = 16 });

        var withBad = TimeSpan.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            withBad = Min(withBad, await RunLoadAsync(host.Host, "bad" + i, cancellationToken));
        }

        var ratio = withBad / baseline;
        TestContext.Out.WriteLine($"SUBSCRIBER FIGURES: baseline={baseline.TotalMilliseconds:F0} ms, with throwing+blocking+slow={withBad.TotalMilliseconds:F0} ms, ratio={ratio:F2}");
        Assert.That(ratio, Is.LessThan(5.0), "bad subscribers slowed the builds down (they share the two cores, so some CPU is theirs)");

        // The normal subscriber saw every event, in order, and nothing was dropped for it. Delivery is asynchronous:
        // wait (bounded) for the last BuildFinished, which is delivered after every event published before it.
        await BackendFaultTests.WaitUntilAsync(
            () =>
            {
                lock (normalEvents)
                {
                    return normalEvents.OfType<BuildFinished>().Count() >= Builds * 5 * 7;
                }
            },
            cancellationToken);
        List<StatusEvent> seen;
        lock (normalEvents)
        {
            seen = normalEvents.ToList();
        }

        Assert.That(seen.OfType<EventsMissed>(), Is.Empty);
        Assert.That(seen.OfType<BuildFinished>().Count(), Is.EqualTo(Builds * 5 * 7), "seven runs of five builders");
        // By key, not by object: an event still buffered when its build leaves RAM carries a snapshot of it.
        foreach (var group in seen.OfType<LogChunk>().GroupBy(c => (c.BuilderName, c.BuildNumber, c.Log.Step.Number, c.Log.Number)))
        {
            var numbers = group.SelectMany(c => c.Lines).Select(l => l.Number).ToList();
            Assert.That(numbers, Is.EqualTo(Enumerable.Range(0, numbers.Count).Select(n => (long)n)), "log lines in order, none missing");
        }

        foreach (var build in seen.OfType<BuildStarted>().Select(e => (e.BuilderName, e.BuildNumber)))
        {
            var started = seen.FindIndex(e => e is BuildStarted && (e.BuilderName, e.BuildNumber) == build);
            var finished = seen.FindIndex(e => e is BuildFinished && (e.BuilderName, e.BuildNumber) == build);
            Assert.That(started, Is.LessThan(finished));
        }

        // The slow subscriber: what it saw plus what it was told it missed is exactly what was published to it. A last
        // event after the load (a builder added) marks the end: once the reference has it, it has everything.
        host.Host.AddBuilder("sub-end-marker");
        await BackendFaultTests.WaitUntilAsync(
            () =>
            {
                lock (referenceEvents)
                {
                    return referenceEvents.Any(e => e is BuilderAdded { Builder.Name: "sub-end-marker" });
                }
            },
            cancellationToken);
        int published;
        lock (referenceEvents)
        {
            published = referenceEvents.Count;
        }

        Assert.That(reference.Missed, Is.Zero);
        await BackendFaultTests.WaitUntilAsync(
            () =>
            {
                lock (slowEvents)
                {
                    return slowEvents.Count(e => e is not EventsMissed) + slowEvents.OfType<EventsMissed>().Sum(m => m.Count) >= published;
                }
            },
            cancellationToken);
        lock (slowEvents)
        {
            var missed = slowEvents.OfType<EventsMissed>().Sum(m => m.Count);
            var got = slowEvents.Count(e => e is not EventsMissed);
            TestContext.Out.WriteLine($"SUBSCRIBER FIGURES: published={published} slow saw={got} missed={missed} notices={slowEvents.OfType<EventsMissed>().Count()} throwing faults={throwingSub.Faults}");
            Assert.That(missed, Is.GreaterThan(0), "the slow subscriber fell behind");
            Assert.That(got + missed, Is.EqualTo(published), "seen + missed == published");
            Assert.That(slowSub.Missed, Is.EqualTo(missed));
        }

        Assert.That(throwingSub.Faults, Is.GreaterThan(0));
        Assert.That(throwing.Calls, Is.GreaterThan(1), "a throwing receiver keeps receiving");
        Assert.That(blockingSub.Missed, Is.GreaterThan(0), "the blocked subscriber is counted as missing events");
        block.SetResult();
        foreach (var sub in new[] { normal, throwingSub, blockingSub, slowSub, reference })
        {
            await sub.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static async Task<TimeSpan> RunLoadAsync(IBuildStatusHost host, string tag, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 5).Select(b => Task.Run(
            async () =>
            {
                var builder = host.FindBuilder("sub-" + b) ?? host.AddBuilder("sub-" + b);
                for (var i = 0; i < Builds; i++)
                {
                    var build = await builder.StartBuildAsync(cancellationToken: cancellationToken);
                    var step = build.AddStep(tag);
                    step.Start();
                    var log = step.AddLog("stdio");
                    for (var n = 0; n < Lines; n++)
                    {
                        await log.AppendLineAsync(LogChannel.Stdout, "line " + n, cancellationToken);
                    }

                    step.Finish(BuildResult.Success);
                    await build.FinishAsync(cancellationToken: cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
                }
            },
            cancellationToken)));
        return watch.Elapsed;
    }

    private sealed class ThrowingReceiver : IStatusReceiver
    {
        private long _calls;

        public long Calls => Interlocked.Read(ref _calls);

        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            throw new InvalidOperationException("subscriber bug");
        }
    }

    private sealed class BlockingReceiver(Task until) : IStatusReceiver
    {
        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
        {
            until.Wait(CancellationToken.None); // blocks its thread, ignoring cancellation
            return ValueTask.CompletedTask;
        }
    }

    private sealed class SlowReceiver(List<StatusEvent> events) : IStatusReceiver
    {
        public async ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
        {
            lock (events)
            {
                events.Add(statusEvent);
            }

            await Task.Delay(1, CancellationToken.None);
        }
    }
}
