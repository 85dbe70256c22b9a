using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Core.Tests.Events;

/// <summary>
/// Events across hosts: two hosts on one store with an event feed (the in-memory store shared by two host objects);
/// a subscriber that opts in sees the other host's committed build, step and log events in order, with its host name.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class OtherHostsEventsTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static void Fast(BuildStatusOptions o, string name)
    {
        o.HostName = name;
        o.OtherHostsPollInterval = TimeSpan.FromMilliseconds(50);
    }

    [Test]
    public async Task IncludeOtherHosts_SeesTheOtherHostsBuild_InOrder_WithItsHostName()
    {
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), store);
        var seen = new Collected();
        using var include = b.Host.Subscribe(seen, new StatusEventFilter { IncludeOtherHosts = true });
        var ownOnly = new Collected();
        using var plain = b.Host.Subscribe(ownOnly);
        var builderOnly = new Collected();
        using var filtered = b.Host.Subscribe(builderOnly, StatusEventFilter.ForBuilder("linux"));

        var build = await (a.Host.FindBuilder("linux") ?? a.Host.AddBuilder("linux")).StartBuildAsync();
        var step = build.AddStep("compile");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < 30; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync();

        var events = await seen.WaitForAsync(e => e is BuildFinished f && f.IsFromOtherHost && f.Build.Number == build.Number);
        var remote = events.Where(e => e.IsFromOtherHost).ToList();
        var kinds = remote.Select(e => e.Kind).Where(k => k != StatusEventKinds.LogChunk).ToList();
        Assert.That(kinds, Is.EqualTo(new[]
        {
            StatusEventKinds.BuildStarted, StatusEventKinds.StepStarted, StatusEventKinds.LogStarted, StatusEventKinds.LogFinished,
            StatusEventKinds.StepFinished, StatusEventKinds.BuildFinished,
        }));
        Assert.That(remote.Select(e => e.HostName).Distinct(), Is.EqualTo(new[] { "host-a" }));
        Assert.That(remote.Select(e => e.InstanceId).Distinct(), Is.EqualTo(new long?[] { a.Host.InstanceId }));
        var lines = remote.OfType<LogChunk>().SelectMany(c => c.Lines).ToList();
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, 30).Select(i => $"line {i}")), "every line once, in order");
        Assert.That(lines.Select(l => l.Number), Is.EqualTo(Enumerable.Range(0, 30).Select(i => (long)i)));
        var firstChunk = remote.FindIndex(e => e is LogChunk);
        Assert.That(firstChunk, Is.GreaterThan(remote.FindIndex(e => e is LogStarted)).And.LessThan(remote.FindIndex(e => e is LogFinished)));
        var finished = remote.OfType<BuildFinished>().Single();
        Assert.That(finished.Result, Is.EqualTo(BuildResult.Success));
        Assert.That(finished.Build.Builder.Name, Is.EqualTo("linux"));
        Assert.That(finished.Build.HostName, Is.EqualTo("host-a"));
        Assert.That(remote.OfType<StepStarted>().Single().Step.Name, Is.EqualTo("compile"));
        Assert.That(remote.OfType<LogStarted>().Single().Log.Name, Is.EqualTo("stdio"));

        Assert.That(ownOnly.Snapshot().Where(e => e.IsFromOtherHost), Is.Empty, "no filter: this host's events only");
        Assert.That(builderOnly.Snapshot().Where(e => e.IsFromOtherHost), Is.Empty, "a filter without IncludeOtherHosts: this host's events only");
    }

    [Test]
    public async Task IncludeOtherHosts_BuildThatOnlyStarted_ItsStartReachesTheOtherHost()
    {
        // Before: the outbox's BuildStarted went with the first batch that held a row of the build, so a build that
        // started and then waited (for a worker, say) was not seen on other hosts until its first change.
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), store);
        var seen = new Collected();
        using var include = b.Host.Subscribe(seen, new StatusEventFilter { IncludeOtherHosts = true });

        var build = await a.Host.AddBuilder("waiting").StartBuildAsync();

        var events = await seen.WaitForAsync(e => e is BuildStarted s && s.IsFromOtherHost && s.Build.Number == build.Number);
        var started = events.OfType<BuildStarted>().Single(e => e.IsFromOtherHost);
        Assert.Multiple(() =>
        {
            Assert.That(started.HostName, Is.EqualTo("host-a"));
            Assert.That(started.Build.Builder.Name, Is.EqualTo("waiting"));
            Assert.That(started.Build.IsFinished, Is.False);
            Assert.That(build.IsFinished, Is.False, "nothing but the start happened");
        });

        await build.FinishAsync();
        var after = await seen.WaitForAsync(e => e is BuildFinished f && f.IsFromOtherHost && f.Build.Number == build.Number);
        Assert.That(after.Count(e => e is BuildStarted s && s.IsFromOtherHost && s.Build.Number == build.Number), Is.EqualTo(1), "announced once");
    }

    [Test]
    public async Task IncludeOtherHosts_StateTextIsTheBuildsFirstChange_TheOtherHostSeesBuildChanged()
    {
        // Before: with no earlier row of the build to compare with, its first stored change derived no BuildChanged.
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), store);
        var seen = new Collected();
        using var include = b.Host.Subscribe(seen, new StatusEventFilter { IncludeOtherHosts = true });

        var build = await a.Host.AddBuilder("texts").StartBuildAsync();
        await a.Host.FlushAsync();
        build.SetStateText("waiting for a worker");

        var events = await seen.WaitForAsync(e => e is BuildChanged c && c.IsFromOtherHost && c.Build.Number == build.Number);
        var changed = events.OfType<BuildChanged>().Single(e => e.IsFromOtherHost);
        Assert.That(changed.StateText, Is.EqualTo("waiting for a worker"));
        await build.FinishAsync();
    }

    [Test]
    public async Task IncludeOtherHosts_StepStartedOnTheOtherHost_ItsBuildViewHasThatCurrentStep()
    {
        // Before: a read-only view from storage had no current step at all.
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), store);
        var seen = new Collected();
        using var include = b.Host.Subscribe(seen, new StatusEventFilter { IncludeOtherHosts = true });

        var build = await a.Host.AddBuilder("current").StartBuildAsync();
        var compile = build.AddStep("compile");
        compile.Start();
        compile.Finish(BuildResult.Success);
        build.AddStep("test").Start();
        build.AddStep("package");

        var events = await seen.WaitForAsync(e => e is StepStarted s && s.IsFromOtherHost && s.Step.Name == "test");
        var started = events.OfType<StepStarted>().Single(e => e.IsFromOtherHost && e.Step.Name == "test");
        Assert.That(started.Step.Build.CurrentStep?.Name, Is.EqualTo("test"));
        var view = await b.Host.Adapter.LoadBuildStatusAsync("current", build.Number);
        Assert.That(view?.CurrentStep?.Name, Is.EqualTo("test"), "a view loaded through the adapter, too");

        await build.FinishAsync();
        var finished = await b.Host.Adapter.LoadBuildStatusAsync("current", build.Number);
        Assert.That(finished?.CurrentStep, Is.Null, "a finished build runs no step");
    }

    [Test]
    public async Task IncludeOtherHosts_StepCommittedBeforeTheBuildRow_BuildStartedStillComesFirst()
    {
        // Before: BuildStarted was derived from the build's first row in a batch, which can come after its steps'.
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), store);
        var seen = new Collected();
        using var include = b.Host.Subscribe(seen, new StatusEventFilter { IncludeOtherHosts = true });

        var build = await (a.Host.FindBuilder("linux") ?? a.Host.AddBuilder("linux")).StartBuildAsync();
        var step = build.AddStep("compile");
        step.Start();
        await a.Host.FlushAsync();
        var early = await seen.WaitForAsync(e => e is StepStarted { IsFromOtherHost: true });
        step.Finish(BuildResult.Success);
        await build.FinishAsync();
        var events = (await seen.WaitForAsync(e => e is BuildFinished { IsFromOtherHost: true })).Where(e => e.IsFromOtherHost).Select(e => e.Kind);

        Assert.That(early.Where(e => e.IsFromOtherHost).Select(e => e.Kind), Is.EqualTo(new[] { StatusEventKinds.BuildStarted, StatusEventKinds.StepStarted }));
        Assert.That(events, Is.EqualTo(new[] { StatusEventKinds.BuildStarted, StatusEventKinds.StepStarted, StatusEventKinds.StepFinished, StatusEventKinds.BuildFinished }));
    }

    [Test]
    public async Task IncludeOtherHosts_OwnEventsArriveOnce_NotAgainFromTheOutbox()
    {
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), store);
        var onA = new Collected();
        using var subscription = a.Host.Subscribe(onA, new StatusEventFilter { IncludeOtherHosts = true });
        var onB = new Collected();
        using var marker = b.Host.Subscribe(onB, new StatusEventFilter { IncludeOtherHosts = true });

        var (build, step, log) = await TestHost.StartBuildWithLogAsync(a.Host);
        await log.AppendLineAsync(LogChannel.Stdout, "x");
        step.Finish(BuildResult.Success);
        await build.FinishAsync();

        // Host b has read past the build's last event, and so has host a's relay (same store, started earlier).
        await onB.WaitForAsync(e => e is BuildFinished { IsFromOtherHost: true });
        var afterB = await TestHost.StartBuildWithLogAsync(b.Host, "other");
        await afterB.Build.FinishAsync();
        await onA.WaitForAsync(e => e is BuildFinished { IsFromOtherHost: true });

        var own = onA.Snapshot().Where(e => e.BuilderName == "b").ToList();
        Assert.That(own.Count(e => e is BuildStarted), Is.EqualTo(1));
        Assert.That(own.Count(e => e is BuildFinished), Is.EqualTo(1));
        Assert.That(own.Where(e => e.IsFromOtherHost), Is.Empty, "a host never receives its own events from the outbox");
    }

    [Test]
    public async Task OutboxUnreadable_ThenBack_EveryEventArrives_NoGap()
    {
        var store = new InMemoryBuildStore();
        var flaky = new FlakyFeed(store);
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), flaky);
        var seen = new Collected();
        using var subscription = b.Host.Subscribe(seen, new StatusEventFilter { IncludeOtherHosts = true, Kinds = StatusEventKinds.LogChunk | StatusEventKinds.BuildFinished });
        
        flaky.Down = true;
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(a.Host);
        for (var i = 0; i < 200; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
            if (i % 20 == 0)
            {
                await a.Host.FlushAsync();
            }
        }

        step.Finish(BuildResult.Failure);
        await build.FinishAsync();
        await WaitUntilAsync(() => flaky.FailedReads >= 2);
        Assert.That(seen.Snapshot().Where(e => e.IsFromOtherHost), Is.Empty, "nothing can be read while the outbox is down");

        flaky.Down = false;
        var events = await seen.WaitForAsync(e => e is BuildFinished { IsFromOtherHost: true });
        var lines = events.OfType<LogChunk>().Where(c => c.IsFromOtherHost).SelectMany(c => c.Lines).Select(l => l.Text);
        Assert.That(lines, Is.EqualTo(Enumerable.Range(0, 200).Select(i => $"line {i}")), "resumed from the last event delivered: no gap, no duplicate");
        Assert.That(events.OfType<EventsMissed>(), Is.Empty);
    }

    [Test]
    public async Task OutboxRetentionOvertakesAReader_SubscriberIsToldItMissedEvents()
    {
        var store = new InMemoryBuildStore { EventCapacity = 5 };
        var flaky = new FlakyFeed(store);
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), flaky);
        var seen = new Collected();
        using var subscription = b.Host.Subscribe(seen, new StatusEventFilter { IncludeOtherHosts = true });
        var ownOnly = new Collected();
        using var plain = b.Host.Subscribe(ownOnly);
        
        flaky.Down = true;
        for (var i = 0; i < 5; i++)
        {
            var (build, step, _) = await TestHost.StartBuildWithLogAsync(a.Host);
            step.Finish(BuildResult.Success);
            await build.FinishAsync();
        }

        await WaitUntilAsync(() => flaky.FailedReads >= 1);
        flaky.Down = false;
        var last = await a.Host.FindBuilder("b")!.StartBuildAsync();
        await last.FinishAsync();

        var events = await seen.WaitForAsync(e => e is BuildFinished { IsFromOtherHost: true } f && f.Build.Number == last.Number);
        var missed = events.OfType<EventsMissed>().Single();
        Assert.That(missed.IsFromOtherHost, Is.True);
        Assert.That(missed.HostName, Is.Empty);
        Assert.That(missed.Count, Is.GreaterThan(0));
        Assert.That(events.IndexOf(missed), Is.LessThan(events.FindIndex(e => e is BuildFinished { IsFromOtherHost: true })), "the notice comes before what was read after the gap");
        Assert.That(ownOnly.Snapshot().OfType<EventsMissed>(), Is.Empty, "only subscribers of other hosts' events are told");
    }

    [Test]
    public async Task GetRunningBuildsAsync_ListsTheRunningBuildsOfEveryLiveInstance()
    {
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(o => Fast(o, "host-a"), store);
        await using var b = await TestHost.StartAsync(o => Fast(o, "host-b"), store);
        var onA = await (a.Host.FindBuilder("linux") ?? a.Host.AddBuilder("linux")).StartBuildAsync();
        var onB = await (b.Host.FindBuilder("mac") ?? b.Host.AddBuilder("mac")).StartBuildAsync();
        var done = await b.Host.FindBuilder("mac")!.StartBuildAsync();
        await done.FinishAsync();
        await a.Host.FlushAsync();
        await b.Host.FlushAsync();

        var running = await a.Host.History.GetRunningBuildsAsync();

        Assert.That(running.Select(r => (r.BuilderName, r.Number, r.HostName)), Is.EqualTo(new[] { ("linux", onA.Number, "host-a"), ("mac", onB.Number, "host-b") }));
        await onA.FinishAsync();
        await onB.FinishAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>A store whose event feed fails while <see cref="Down"/> is set: the outbox unreachable, writes still fine.</summary>
    private sealed class FlakyFeed(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private int _failedReads;

        public volatile bool Down;

        public int FailedReads => Volatile.Read(ref _failedReads);

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public override Task<long> GetLastEventSequenceAsync(CancellationToken cancellationToken = default)
            => Down ? Fail<long>() : base.GetLastEventSequenceAsync(cancellationToken);

        public override Task<StoredEventPage> ReadEventsAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
            => Down ? Fail<StoredEventPage>() : base.ReadEventsAsync(afterSequence, maxCount, cancellationToken);

        protected override void Dispose(bool disposing)
        {
        }

        private Task<T> Fail<T>()
        {
            Interlocked.Increment(ref _failedReads);
            return Task.FromException<T>(new BuildStoreException("The outbox is unreachable (test)."));
        }
    }

    private sealed class Collected : IStatusReceiver
    {
        private readonly List<StatusEvent> _events = [];
        private readonly SemaphoreSlim _arrived = new(0);

        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
        {
            lock (_events)
            {
                _events.Add(statusEvent);
            }

            _arrived.Release();
            return ValueTask.CompletedTask;
        }

        public List<StatusEvent> Snapshot()
        {
            lock (_events)
            {
                return [.. _events];
            }
        }

        public async Task<List<StatusEvent>> WaitForAsync(Func<StatusEvent, bool> condition)
        {
            var deadline = DateTime.UtcNow + Limit;
            while (true)
            {
                var events = Snapshot();
                if (events.Any(condition))
                {
                    return events;
                }

                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !await _arrived.WaitAsync(left))
                {
                    Assert.Fail($"timed out; received: {string.Join(", ", events.Select(e => $"{e.Kind}@{e.HostName}"))}");
                }
            }
        }

    }
}
