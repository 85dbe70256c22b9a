using BuildStatus.Storage.Testing;
using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Core.Tests.Pipeline;

[TestFixture]
public sealed class WritePipelineTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task StalledStore_StatusKeepsWorkingAndAppendsHitBackpressure_ThenEverythingIsPersisted()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => o.MaxQueueBytes = 64 * 1024, store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();

        // Status keeps changing while the store is stalled.
        build.SetStateText("running tests");
        var s2 = build.AddStep("test");
        s2.Start();
        Assert.That(build.StateText, Is.EqualTo("running tests"));
        Assert.That(build.CurrentStep, Is.SameAs(s2));

        // Fill the queue: 100-byte lines until an append has to wait.
        var line = new string('x', 99) + "\n";
        var appended = 0;
        ValueTask pending = default;
        for (var i = 0; i < 10_000; i++)
        {
            pending = log.AppendAsync(LogChannel.Stdout, line);
            if (!pending.IsCompleted)
            {
                break;
            }

            appended++;
        }

        Assert.That(pending.IsCompleted, Is.False, "an append waits once the queue holds MaxQueueBytes");
        Assert.That(appended, Is.LessThan(1000), "the bound is in bytes: 64 KiB of 100-byte lines");
        var health = await t.Services.GetRequiredService<BuildStatusHealthCheck>().CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Degraded), "a full queue is reported");

        store.Release();
        await pending.AsTask().WaitAsync(Limit);
        s2.Finish(BuildResult.Success);
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, int.MaxValue);
        Assert.That(stored, Has.Count.EqualTo(appended + 1), "every accepted line, including the one that waited, is stored");
        Assert.That(stored.Select(l => l.Number), Is.EqualTo(Enumerable.Range(0, appended + 1).Select(i => (long)i)));
    }

    [Test]
    public async Task AppendAsync_WaitingForSpace_HonoursCancellation()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => (o.MaxQueueBytes, o.MaxLineLength) = (64 * 1024, 1024 * 1024), store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();
        var big = new string('y', 70 * 1024) + "\n";
        await log.AppendAsync(LogChannel.Stdout, big);
        using var cts = new CancellationTokenSource();

        var waiting = log.AppendAsync(LogChannel.Stdout, "one more\n", cts.Token);
        Assert.That(waiting.IsCompleted, Is.False);
        cts.Cancel();

        Assert.That(async () => await waiting, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(log.LineCount, Is.EqualTo(1), "a cancelled append appends nothing");
        store.Release();
        await build.FinishAsync().WaitAsync(Limit);
    }

    [Test]
    public async Task TransientFailures_AreRetried_AndNothingIsLost()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.FailNext(3);
        for (var i = 0; i < 500; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);

        Assert.That(store.FailedBatches, Is.EqualTo(3));
        var lines = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, int.MaxValue);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, 500).Select(i => $"line {i}")));
        var stored = await t.Store.GetBuildAsync(new BuildKey("b", build.Number));
        Assert.That(stored!.Result, Is.EqualTo(BuildResult.Success));
    }

    [Test]
    public async Task PermanentFailure_FaultsDurabilityWithTheCause_AndReportsUnhealthy_ThenRecovers()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => o.MaxWriteAttempts = 3, store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.FailForever(true);
        await log.AppendLineAsync(LogChannel.Stdout, "kept in the queue");
        step.Finish(BuildResult.Success);

        var finish = build.FinishAsync();
        var ex = Assert.ThrowsAsync<BuildStoreException>(() => finish.WaitAsync(Limit));
        Assert.That(ex!.InnerException, Is.InstanceOf<IOException>());
        Assert.That(build.IsFinished, Is.True, "status keeps working while storage is down");
        var health = await t.Services.GetRequiredService<BuildStatusHealthCheck>().CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.ThrowsAsync<BuildStoreException>(() => t.Host.FlushAsync().WaitAsync(Limit), "a flush fails fast instead of hanging");

        // The writer keeps retrying in the background: when the store comes back, the queued data lands.
        store.FailForever(false);
        await WaitUntilAsync(async () => (await t.Store.GetBuildAsync(new BuildKey("b", build.Number)))?.IsFinished == true);
        var lines = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10);
        Assert.That(lines.Single().Text, Is.EqualTo("kept in the queue"));
        await t.Host.FlushAsync().WaitAsync(Limit);
        health = await t.Services.GetRequiredService<BuildStatusHealthCheck>().CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public async Task StopAsync_WithFailedStore_EndsWithinTimeoutAndFaultsWaiters()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => { o.MaxWriteAttempts = 2; o.StopTimeout = TimeSpan.FromSeconds(2); }, store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.FailForever(true);
        await log.AppendLineAsync(LogChannel.Stdout, "never stored");
        var finish = build.FinishAsync();

        await t.Host.StopAsync().WaitAsync(Limit);

        // The durability task faults as the stop ends; its continuation may run a moment later on a loaded machine.
        await Task.WhenAny(finish, Task.Delay(Limit));
        Assert.That(finish.IsFaulted, Is.True);
        Assert.That(t.Host.IsRunning, Is.False);
    }

    [Test]
    public async Task StopAsync_BackendHangsIgnoringCancellation_StillEnds()
    {
        var hang = new TaskCompletionSource();
        var store = new HangingStore(new InMemoryBuildStore(), hang.Task);
        var t = await TestHost.StartAsync(o => o.StopTimeout = TimeSpan.FromMilliseconds(200), store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendLineAsync(LogChannel.Stdout, "stuck");
        var finish = build.FinishAsync();

        await t.Host.StopAsync().WaitAsync(Limit);
        await t.DisposeAsync().AsTask().WaitAsync(Limit);

        Assert.That(finish.IsFaulted, Is.True, "what was not persisted is reported, not silently dropped");
        hang.SetResult();
    }

    private sealed class HangingStore(BuildStatus.Storage.IBuildStore inner, Task hang) : DelegatingBuildStore(inner)
    {
        public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            await hang; // ignores cancellation on purpose
            await Inner.ApplyAsync(batch, cancellationToken);
        }
    }

    [Test]
    public async Task FlushAsync_WaitsForEverythingQueued()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();
        await log.AppendLineAsync(LogChannel.Stdout, "a");
        var flush = t.Host.FlushAsync();
        await Task.Delay(50);
        Assert.That(flush.IsCompleted, Is.False, "flush waits for the stalled commit");

        store.Release();
        await flush.WaitAsync(Limit);

        var lines = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10);
        Assert.That(lines.Single().Text, Is.EqualTo("a"));
    }

    [Test]
    public async Task ManyAppends_AreCoalescedIntoFewBatches()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();
        for (var i = 0; i < 5000; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"l{i}");
        }

        var before = store.AppliedBatches;
        store.Release();
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);

        Assert.That(store.AppliedBatches - before, Is.LessThanOrEqualTo(4), "5,000 appends made while stalled commit in a handful of batches");
        var lines = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, int.MaxValue);
        Assert.That(lines, Has.Count.EqualTo(5000));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("condition not reached in time");
            }

            await Task.Delay(10);
        }
    }
}

[TestFixture]
public sealed class RejectedBatchAndStartRetryTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task RejectedBatch_TheOffendingStepIsQuarantined_LaterWritesStillLand()
    {
        var store = new RejectingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => o.MaxWriteAttempts = 3, store);
        var poisoned = await t.Host.AddBuilder("b").StartBuildAsync();
        var step = poisoned.AddStep("poison");

        var finish = poisoned.FinishAsync();

        var ex = Assert.ThrowsAsync<BuildStoreException>(() => finish.WaitAsync(Limit));
        Assert.That(ex!.InnerException, Is.InstanceOf<BatchRejectedException>());
        var next = await t.Host.FindBuilder("b")!.StartBuildAsync();
        next.AddStep("fine").Finish(BuildResult.Success);
        await next.FinishAsync().WaitAsync(Limit);
        Assert.That((await t.Store.GetBuildAsync(new BuildKey("b", next.Number)))!.IsFinished, Is.True, "one rejected batch does not block the writer");
        Assert.That(store.Calls, Is.LessThan(10), "a rejection is not retried");
        var health = await t.Services.GetRequiredService<BuildStatusHealthCheck>().CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(health.Data["quarantined"], Is.EqualTo(1L));
    }

    [Test]
    public async Task StartBuildAsync_TransientAllocationFailures_AreRetried()
    {
        var store = new FlakyCreateStore(new InMemoryBuildStore(), failures: 2);
        await using var t = await TestHost.StartAsync(store: store);

        var build = await t.Host.AddBuilder("b").StartBuildAsync().WaitAsync(Limit);

        Assert.That(build.Number, Is.EqualTo(1));
        Assert.That(store.Calls, Is.EqualTo(3));
        await build.FinishAsync();
    }

    [Test]
    public async Task StartBuildAsync_AllocationKeepsFailing_ThrowsBuildStoreExceptionWithTheCause()
    {
        var store = new FlakyCreateStore(new InMemoryBuildStore(), failures: int.MaxValue);
        await using var t = await TestHost.StartAsync(o => o.MaxWriteAttempts = 3, store);

        var ex = Assert.ThrowsAsync<BuildStoreException>(() => t.Host.AddBuilder("b").StartBuildAsync().WaitAsync(Limit));

        Assert.That(ex!.InnerException, Is.InstanceOf<IOException>());
        Assert.That(store.Calls, Is.EqualTo(3));
        Assert.That(t.Host.FindBuilder("b")!.CurrentBuilds, Is.Empty);
    }

    private sealed class RejectingStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return batch.Steps.Any(s => s.Name == "poison")
                ? throw new BatchRejectedException("the backend refuses this batch")
                : Inner.ApplyAsync(batch, cancellationToken);
        }
    }

    private sealed class FlakyCreateStore(IBuildStore inner, int failures) : DelegatingBuildStore(inner)
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
            => Interlocked.Increment(ref _calls) <= failures
                ? throw new IOException("injected: database locked")
                : Inner.CreateBuildAsync(build, cancellationToken);
    }
}
