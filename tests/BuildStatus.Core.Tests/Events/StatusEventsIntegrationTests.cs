using BuildStatus.Core.Tests.Support;

namespace BuildStatus.Core.Tests.Events;

[TestFixture]
public sealed class StatusEventsIntegrationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task WatchAsync_OneBuild_SeesEveryChangeInOrder()
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        using var cts = new CancellationTokenSource(Limit);
        var events = new List<StatusEvent>();
        var stream = t.Host.WatchAsync(StatusEventFilter.ForBuilder("b") with { Kinds = StatusEventKinds.All & ~StatusEventKinds.BuilderStateChanged }, cts.Token);
        var reader = Task.Run(async () =>
        {
            await foreach (var e in stream)
            {
                events.Add(e);
                if (e is BuildFinished)
                {
                    break;
                }
            }
        });

        var build = await builder.StartBuildAsync();
        var step = build.AddStep("compile");
        step.Start();
        step.SetStateText("compiling");
        var log = step.AddLog("stdio");
        await log.AppendAsync(LogChannel.Stdout, "a\nb\n");
        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync();
        await reader.WaitAsync(Limit);

        Assert.That(events.Select(e => e.GetType().Name), Is.EqualTo(new[]
        {
            nameof(BuildStarted), nameof(StepStarted), nameof(StepTextChanged), nameof(LogStarted),
            nameof(LogChunk), nameof(LogFinished), nameof(StepFinished), nameof(BuildFinished),
        }));
        var chunk = events.OfType<LogChunk>().Single();
        Assert.That(chunk.Lines.Select(l => (l.Number, l.Text)), Is.EqualTo(new[] { (0L, "a"), (1L, "b") }));
        Assert.That(events.OfType<BuildFinished>().Single().Result, Is.EqualTo(BuildResult.Success));
        Assert.That(events.All(e => e.BuilderName == "b" && e.BuildNumber == 1), Is.True);
    }

    [Test]
    public async Task Subscribe_ThrowingReceiver_DoesNotDisturbBuildsOrOtherSubscribers()
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        var good = new CollectingReceiver();
        using var bad = t.Host.Subscribe(new ThrowingReceiver());
        using var sub = t.Host.Subscribe(good, new StatusEventFilter { Kinds = StatusEventKinds.BuildFinished });

        for (var i = 0; i < 20; i++)
        {
            var build = await builder.StartBuildAsync();
            await build.FinishAsync(BuildResult.Success);
        }

        await good.WaitForAsync(20).WaitAsync(Limit);
        Assert.That(good.Events.OfType<BuildFinished>().Select(e => e.Build.Number), Is.EqualTo(Enumerable.Range(1, 20)));

        // The throwing receiver runs on its own thread: wait for it rather than assume it has caught up.
        var deadline = DateTime.UtcNow + Limit;
        while (bad.Faults == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.That(bad.Faults, Is.GreaterThan(0));
    }

    private sealed class ThrowingReceiver : IStatusReceiver
    {
        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
            => throw new InvalidOperationException("receiver bug");
    }

    private sealed class CollectingReceiver : IStatusReceiver
    {
        private readonly Lock _sync = new();
        private readonly List<StatusEvent> _events = [];
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<StatusEvent> Events
        {
            get
            {
                lock (_sync)
                {
                    return _events.ToArray();
                }
            }
        }

        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
        {
            TaskCompletionSource changed;
            lock (_sync)
            {
                _events.Add(statusEvent);
                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
            return ValueTask.CompletedTask;
        }

        public async Task WaitForAsync(int count)
        {
            while (true)
            {
                Task wait;
                lock (_sync)
                {
                    if (_events.Count >= count)
                    {
                        return;
                    }

                    wait = _changed.Task;
                }

                await wait;
            }
        }
    }
}
