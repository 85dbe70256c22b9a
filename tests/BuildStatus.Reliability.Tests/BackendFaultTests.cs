using BuildStatus.Reliability.Tests.Support;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Reliability.Tests;

/// <summary>A backend that fails, slows down, hangs or dies: status keeps working, nothing acknowledged is lost, failures are visible.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class BackendFaultTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static Func<IBuildStore, IBuildStore> Inject(Action<FaultInjectingStore> configure, Action<FaultInjectingStore> capture)
        => inner =>
        {
            var store = new FaultInjectingStore(inner, seed: 42);
            configure(store);
            capture(store);
            return store;
        };

    [Test]
    [CancelAfter(120_000)]
    public async Task TransientFaults_AreRetriedWithBackoff_NothingLost(CancellationToken cancellationToken)
    {
        using var dir = new TempDir();
        FaultInjectingStore faults = null!;
        await using var host = await RelHost.SqliteAsync(dir.File("h.db"), o => o.MaxWriteAttempts = 50, Inject(s => { s.TransientRate = 0.4; s.Latency = TimeSpan.FromMilliseconds(1); }, s => faults = s));
        var events = new List<StatusEvent>();
        await using var sub = host.Host.Subscribe(new CollectingReceiver(events));
        var expected = new Dictionary<int, (BuildResult Result, int Lines)>();
        var builder = host.Host.AddBuilder("transient");
        for (var i = 0; i < 30; i++)
        {
            var build = await builder.StartBuildAsync(cancellationToken: cancellationToken);
            var step = build.AddStep("run");
            step.Start();
            var log = step.AddLog("stdio");
            var lines = 20 + i;
            for (var n = 0; n < lines; n++)
            {
                await log.AppendLineAsync(LogChannel.Stdout, $"build {i} line {n}", cancellationToken);
            }

            // Status reads answer from RAM at once, whatever the backend does.
            Assert.That(log.LineCount, Is.EqualTo(lines));
            Assert.That(builder.CurrentBuilds, Has.Count.EqualTo(1));
            var result = (BuildResult)(i % 3);
            step.Finish(result);
            await build.FinishAsync(result, cancellationToken: cancellationToken).WaitAsync(Timeout, cancellationToken);
            expected[build.Number] = (result, lines);
        }

        Assert.That(faults.InjectedFaults, Is.GreaterThan(5), "faults were injected");
        Assert.That(host.Metrics.Total("buildstatus.writer.retries"), Is.GreaterThanOrEqualTo(faults.InjectedFaults), "every injected fault was retried");
        Assert.That(host.Logs.Has(LogLevel.Warning, "retrying"), Is.True, host.Logs.Dump());
        foreach (var (number, (result, lines)) in expected)
        {
            var stored = await host.Host.History.GetBuildAsync("transient", number, cancellationToken);
            Assert.That(stored?.Result, Is.EqualTo(result), $"build {number}");
            var log = (await (await stored!.GetStepsAsync(cancellationToken))[0].GetLogsAsync(cancellationToken))[0];
            var read = await log.ReadLinesAsync(cancellationToken: cancellationToken);
            Assert.That(read.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, lines).Select(n => $"build {number - 1} line {n}")));
        }

        // The receiver runs on its own thread, and the writer may still be retrying a later write (a heartbeat's):
        // both settle, on a loaded machine a moment later.
        var settle = DateTime.UtcNow + Timeout;
        HealthCheckResult health;
        while (true)
        {
            int finished;
            lock (events)
            {
                finished = events.OfType<BuildFinished>().Count();
            }

            health = await host.HealthAsync();
            if ((finished == 30 && health.Status == HealthStatus.Healthy) || DateTime.UtcNow > settle)
            {
                break;
            }

            await Task.Delay(20, cancellationToken);
        }

        lock (events)
        {
            Assert.That(events.OfType<BuildFinished>().Count(), Is.EqualTo(30), "events kept flowing during faults");
        }

        Assert.That(health.Status, Is.EqualTo(HealthStatus.Healthy), health.Description);
        TestContext.Out.WriteLine($"FAULT FIGURES transient: injected={faults.InjectedFaults} applyCalls={faults.ApplyCalls} builds verified={expected.Count}");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Hang_AppliesBackpressureToAppends_QueueBytesStayWithinBound(CancellationToken cancellationToken)
    {
        const long bound = 64 * 1024;
        FaultInjectingStore faults = null!;
        await using var host = await RelHost.StartAsync(
            () =>
            {
                faults = new FaultInjectingStore(new InMemoryBuildStore());
                return faults;
            },
            o => o.MaxQueueBytes = bound);
        var builder = host.Host.AddBuilder("hang");
        var build = await builder.StartBuildAsync(cancellationToken: cancellationToken);
        var step = build.AddStep("run");
        step.Start();
        var log = step.AddLog("stdio");
        var events = new List<StatusEvent>();
        await using var sub = host.Host.Subscribe(new CollectingReceiver(events));
        await host.Host.FlushAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);

        faults.Hang();
        var line = new string('x', 1000);
        var appended = 0;
        ValueTask pending = default;
        while (true)
        {
            pending = log.AppendLineAsync(LogChannel.Stdout, line, cancellationToken);
            if (!pending.IsCompleted)
            {
                break;
            }

            await pending;
            appended++;
            Assert.That(appended, Is.LessThan(10_000), "appends never waited: no backpressure");
        }

        var health = await host.HealthAsync();
        var queued = (long)health.Data["queue_bytes"];
        Assert.That(queued, Is.LessThanOrEqualTo(bound + line.Length), "queued log bytes stay within MaxQueueBytes + one append");
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Degraded), health.Description);
        Assert.That(host.Metrics.Total("buildstatus.writer.backpressure_waits"), Is.GreaterThanOrEqualTo(1));

        // Status and events keep working while the writer is stuck; other builds still start.
        build.SetStateText("waiting for the disk");
        Assert.That(build.StateText, Is.EqualTo("waiting for the disk"));
        Assert.That(log.LineCount, Is.EqualTo(appended));
        var other = await host.Host.AddBuilder("other").StartBuildAsync(cancellationToken: cancellationToken).WaitAsync(Timeout, cancellationToken);
        await WaitUntilAsync(() => events.OfType<BuildChanged>().Any(), cancellationToken);
        Assert.That(pending.IsCompleted, Is.False, "the append waits while the queue is full");

        faults.Release();
        await pending.AsTask().WaitAsync(Timeout, cancellationToken);
        log.Finish();
        await build.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken).WaitAsync(Timeout, cancellationToken);
        await other.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken).WaitAsync(Timeout, cancellationToken);
        var stored = await build.Persistent.GetStepsAsync(cancellationToken);
        var storedLog = (await stored[0].GetLogsAsync(cancellationToken))[0];
        Assert.That(storedLog.LineCount, Is.EqualTo(appended + 1), "every line accepted before, during and after the hang is stored");
        TestContext.Out.WriteLine($"FAULT FIGURES hang: appends before backpressure={appended} queue_bytes={queued} bound={bound}");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task PermanentFailure_IsVisible_DurabilityTasksFaultWithCause_WriterResumesWhenBackendReturns(CancellationToken cancellationToken)
    {
        using var dir = new TempDir();
        FaultInjectingStore faults = null!;
        await using var host = await RelHost.SqliteAsync(dir.File("p.db"), o => o.MaxWriteAttempts = 3, Inject(_ => { }, s => faults = s));
        var builder = host.Host.AddBuilder("down");
        var build = await builder.StartBuildAsync(cancellationToken: cancellationToken);
        var step = build.AddStep("run");
        step.Start();
        var log = step.AddLog("stdio");
        await host.Host.FlushAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);

        faults.Permanent = true;
        await log.AppendLineAsync(LogChannel.Stdout, "written while the backend is down", cancellationToken);
        step.Finish(BuildResult.Success);
        var finish = build.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken);
        var error = Assert.ThrowsAsync<BuildStoreException>(async () => await finish.WaitAsync(Timeout, cancellationToken));
        Assert.That(error!.InnerException, Is.InstanceOf<InjectedFaultException>(), "the durability task carries the cause");
        Assert.ThrowsAsync<BuildStoreException>(async () => await host.Host.FlushAsync(cancellationToken).WaitAsync(Timeout, cancellationToken));

        // Status still answers; the failure shows in health, metrics and logs.
        Assert.That(build.Result, Is.EqualTo(BuildResult.Success));
        Assert.That(builder.LastFinishedBuild, Is.SameAs(build));
        var health = await host.HealthAsync();
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy), health.Description);
        Assert.That(health.Exception, Is.InstanceOf<InjectedFaultException>());
        Assert.That(host.Metrics.Total("buildstatus.writer.failures"), Is.GreaterThanOrEqualTo(3));
        Assert.That(host.Metrics.Total("buildstatus.writer.retries"), Is.GreaterThanOrEqualTo(3));
        Assert.That(host.Logs.Entries.Any(e => e.Level == LogLevel.Error && e.Exception is InjectedFaultException), Is.True, host.Logs.Dump());

        // The writer keeps retrying in the background: when the backend returns, the queued build lands.
        faults.Permanent = false;
        await WaitUntilAsync(async () => (await host.HealthAsync()).Status == HealthStatus.Healthy, cancellationToken);
        await host.RunNormalBuildAsync(timeout: Timeout);
        var stored = await host.Host.History.GetBuildAsync("down", build.Number, cancellationToken);
        Assert.That(stored?.Result, Is.EqualTo(BuildResult.Success), "the build finished during the outage is stored");
        var lines = await (await (await stored!.GetStepsAsync(cancellationToken))[0].GetLogsAsync(cancellationToken))[0].ReadLinesAsync(cancellationToken: cancellationToken);
        Assert.That(lines.Single().Text, Is.EqualTo("written while the backend is down"));
        Assert.That(host.Logs.Has(LogLevel.Information, "recovered"), Is.True);
    }

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(120_000)]
    public async Task GracefulStop_WithFailingOrHungBackend_EndsWithinStopTimeout_LogsWhatWasNotPersisted(bool hangIgnoringCancellation, CancellationToken cancellationToken)
    {
        var stopTimeout = TimeSpan.FromSeconds(1);
        FaultInjectingStore faults = null!;
        await using var host = await RelHost.StartAsync(
            () =>
            {
                faults = new FaultInjectingStore(new InMemoryBuildStore()) { HangIgnoresCancellation = hangIgnoringCancellation };
                return faults;
            },
            o =>
            {
                o.StopTimeout = stopTimeout;
                o.MaxWriteAttempts = 1000;
            });
        var build = await host.Host.AddBuilder("stop").StartBuildAsync(cancellationToken: cancellationToken);
        var log = build.AddStep("s").AddLog("stdio");
        await host.Host.FlushAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);
        if (hangIgnoringCancellation)
        {
            faults.Hang();
        }
        else
        {
            faults.Permanent = true;
        }

        for (var i = 0; i < 100; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, "unsaved " + i, cancellationToken);
        }

        var finish = build.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var stop = host.Host.StopAsync(cancellationToken);
        var completed = await Task.WhenAny(stop, Task.Delay(stopTimeout + TimeSpan.FromSeconds(10), cancellationToken));
        faults.Release();
        Assert.That(completed, Is.SameAs(stop), $"StopAsync did not return within StopTimeout ({stopTimeout}) + 10 s");
        await stop;
        Assert.That(watch.Elapsed, Is.LessThan(stopTimeout + TimeSpan.FromSeconds(10)));
        Assert.That(host.Logs.Entries.Any(e => e.Level == LogLevel.Error && e.Message.Contains("not persisted", StringComparison.Ordinal)), Is.True, host.Logs.Dump());
        Assert.ThrowsAsync<BuildStoreException>(async () => await finish.WaitAsync(Timeout, cancellationToken), "the durability task faults instead of hanging");
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
        => await WaitUntilAsync(() => Task.FromResult(condition()), cancellationToken);

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("condition not met within " + Timeout);
            }

            await Task.Delay(10, cancellationToken); // polling interval, not an assertion
        }
    }
}

/// <summary>Collects events in order (delivery is on the subscription's own pump; reads lock the list).</summary>
internal sealed class CollectingReceiver(List<StatusEvent> events) : IStatusReceiver
{
    public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
    {
        lock (events)
        {
            events.Add(statusEvent);
        }

        return ValueTask.CompletedTask;
    }
}
