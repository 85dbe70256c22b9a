using System.Runtime.CompilerServices;
using BuildStatus.Core.Tests.Support;

namespace BuildStatus.Core.Tests.Events;

/// <summary>Events waiting in a slow subscriber's buffer do not keep a build alive once it has left RAM.</summary>
[TestFixture]
public sealed class BufferedEventsAfterEvictionTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task WatchAsync_BuildLeavesRamWhileItsEventsAreBuffered_BuildIsCollectedAndEventsCarryASnapshot()
    {
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 1);
        using var timeout = new CancellationTokenSource(Limit);
        var stream = t.Host.WatchAsync(StatusEventFilter.ForBuild("b", 1), timeout.Token);

        var first = await RunBuildAsync(t.Host);
        await (await t.Host.FindBuilder("b")!.StartBuildAsync()).FinishAsync(); // build 2 pushes build 1 out of RAM

        // The writer may still hold the last committed batch for a moment after FinishAsync completed; what must
        // never hold the build is the buffered events, which stay buffered for as long as this loop runs.
        for (var i = 0; i < 100 && first.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (first.IsAlive)
            {
                await Task.Delay(20);
            }
        }

        var events = new List<StatusEvent>();
        await foreach (var e in stream.WithCancellation(timeout.Token))
        {
            events.Add(e);
            if (e is BuildFinished)
            {
                break;
            }
        }

        var started = events.OfType<BuildStarted>().Single();
        var finished = events.OfType<BuildFinished>().Single();
        var chunk = events.OfType<LogChunk>().First();
        Assert.Multiple(() =>
        {
            Assert.That(first.IsAlive, Is.False, "the buffered events must not keep build 1 alive");
            Assert.That(t.Host.FindBuilder("b")!.GetBuild(1), Is.Null);
            Assert.That(started.Build, Is.Not.InstanceOf<IBuild>(), "a read-only snapshot");
            Assert.That(started.Build.Number, Is.EqualTo(1));
            Assert.That(finished.Build.Result, Is.EqualTo(BuildResult.Warnings));
            Assert.That(finished.Build.Steps.Select(s => (s.Name, s.Result)), Is.EqualTo(new[] { ("compile", (BuildResult?)BuildResult.Warnings) }));
            Assert.That(finished.Build.Steps[0].Logs.Single().LineCount, Is.EqualTo(2));
            Assert.That(chunk.Log.Step.Build, Is.SameAs(finished.Build), "one snapshot for the build's events");
            Assert.That(chunk.Lines.Select(l => l.Text), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(events.OfType<StepStarted>().Single().Step, Is.SameAs(finished.Build.Steps[0]));
        });
    }

    [Test]
    public async Task WatchAsync_BuildStillInRam_EventsCarryTheLiveBuild()
    {
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 5);
        using var timeout = new CancellationTokenSource(Limit);
        var stream = t.Host.WatchAsync(StatusEventFilter.ForBuild("b", 1), timeout.Token);
        var build = await t.Host.AddBuilder("b").StartBuildAsync();
        await build.FinishAsync();
        await (await t.Host.FindBuilder("b")!.StartBuildAsync()).FinishAsync();

        await foreach (var e in stream.WithCancellation(timeout.Token))
        {
            Assert.That(e, Is.TypeOf<BuildStarted>());
            Assert.That(((BuildStarted)e).Build, Is.SameAs(build));
            break;
        }
    }

    // Runs build 1 with one step and one log; returns a weak reference to it, so the test holds no strong one.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunBuildAsync(IBuildStatusHost host)
    {
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(host);
        await log.AppendAsync(LogChannel.Stdout, "a\nb\n");
        log.Finish();
        step.Finish(BuildResult.Warnings);
        await build.FinishAsync();
        return new WeakReference(build);
    }
}
