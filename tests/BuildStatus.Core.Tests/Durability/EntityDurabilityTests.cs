using BuildStatus.Core.Tests.Support;
using BuildStatus.Pipeline;
using BuildStatus.Process;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BuildStatus.Core.Tests.Durability;

/// <summary>Regression tests for the entity as the unit of durability (issue: durability at every edge, items 1–3).</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class EntityDurabilityTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [TestCase(true)]
    [TestCase(false)]
    public async Task RejectedBatch_OnlyTheOffendingEntityIsQuarantined_AnotherBuildsLinesInTheSameBatchAreCommitted(bool backendNamesKeys)
    {
        // Before: the whole batch was dropped, the other build's lines with it, and its FinishAsync still succeeded.
        var store = new RejectingStore(new InMemoryBuildStore(), backendNamesKeys);
        await using var t = await TestHost.StartAsync(store: store);
        var (other, otherStep, otherLog) = await TestHost.StartBuildWithLogAsync(t.Host, "other");
        var poisoned = await t.Host.AddBuilder("b").StartBuildAsync();

        store.Stall();
        for (var i = 0; i < 100; i++)
        {
            await otherLog.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        poisoned.AddStep("poison");
        var poisonedFinish = poisoned.FinishAsync();
        store.Release();

        var ex = Assert.ThrowsAsync<BuildStoreException>(() => poisonedFinish.WaitAsync(Limit));
        Assert.That(ex!.InnerException, Is.InstanceOf<BatchRejectedException>());
        otherStep.Finish(BuildResult.Success);
        await other.FinishAsync().WaitAsync(Limit);

        var lines = await t.Store.ReadLogLinesAsync(new LogKey("other", other.Number, 0, 0), 0, 1000);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, 100).Select(i => $"line {i}")), "every line of the other build is readable");
        Assert.That((await t.Store.GetLogAsync(new LogKey("other", other.Number, 0, 0)))!.LineCount, Is.EqualTo(100));
        Assert.That((await t.Store.GetBuildAsync(new BuildKey("b", poisoned.Number)))!.IsFinished, Is.True, "the poisoned build's own row was not the offending one");
        var health = await t.Services.GetRequiredService<BuildStatusHealthCheck>().CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(health.Data["quarantined"], Is.EqualTo(1L));
        Assert.That(((BuildStatusHost)t.Host).Pipeline.PendingBytes, Is.Zero);
    }

    [Test]
    public async Task RejectedLogChunk_FaultsItsBuild_LaterLinesOfThatLogDoNotCascadeIntoOtherBatches()
    {
        // Before: every later chunk of the log was rejected as a gap, each rejection taking the rest of its batch with it.
        var store = new RejectingStore(new InMemoryBuildStore(), namesKeys: true);
        await using var t = await TestHost.StartAsync(store: store);
        var (bad, _, badLog) = await TestHost.StartBuildWithLogAsync(t.Host, "b");
        var (good, goodStep, goodLog) = await TestHost.StartBuildWithLogAsync(t.Host, "g");
        store.RejectChunksOf = "stdio-bad";
        var rejected = ((IStep)bad.Steps[0]).AddLog("stdio-bad");
        for (var i = 0; i < 50; i++)
        {
            await rejected.AppendLineAsync(LogChannel.Stdout, $"bad {i}");
            await goodLog.AppendLineAsync(LogChannel.Stdout, $"good {i}");
            await t.Host.FlushAsync().ContinueWith(_ => { }, TaskScheduler.Default);
        }

        goodStep.Finish(BuildResult.Success);
        await good.FinishAsync().WaitAsync(Limit);
        Assert.ThrowsAsync<BuildStoreException>(() => bad.FinishAsync().WaitAsync(Limit));

        var lines = await t.Store.ReadLogLinesAsync(new LogKey("g", good.Number, 0, 0), 0, 1000);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, 50).Select(i => $"good {i}")));
        Assert.That(((BuildStatusHost)t.Host).Pipeline.Quarantined, Is.EqualTo(1), "one rejection, no cascade");
    }

    [Test]
    public async Task FlushAsync_CoveringDroppedData_Faults()
    {
        var store = new RejectingStore(new InMemoryBuildStore(), namesKeys: true);
        await using var t = await TestHost.StartAsync(store: store);
        var build = await t.Host.AddBuilder("b").StartBuildAsync();
        store.Stall();
        build.AddStep("poison");
        var flush = t.Host.FlushAsync();
        store.Release();

        Assert.ThrowsAsync<BuildStoreException>(() => flush.WaitAsync(Limit));
        build.AddStep("fine");
        await t.Host.FlushAsync().WaitAsync(Limit);
    }

    [Test]
    public async Task BackendArgumentException_IsTransient_RetriedUntilItLands()
    {
        // Before: an ArgumentException from the backend dropped the batch. It is a driver's bug or a transient
        // failure, not a rejection: only BatchRejectedException means "never".
        var store = new ThrowingStore(new InMemoryBuildStore(), failures: 3, () => new ArgumentException("driver bug"));
        await using var t = await TestHost.StartAsync(store: store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendLineAsync(LogChannel.Stdout, "kept");
        step.Finish(BuildResult.Success);

        await build.FinishAsync().WaitAsync(Limit);

        Assert.That(store.Failures, Is.EqualTo(3));
        Assert.That((await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10)).Single().Text, Is.EqualTo("kept"));
        Assert.That(((BuildStatusHost)t.Host).Pipeline.Quarantined, Is.Zero);
    }

    [Test]
    public async Task InMemoryStoreRejection_IsNotRetriedForever_LaterWritesLand()
    {
        // Before: the in-memory store rejected with BuildStoreException, which the writer retried forever, and every
        // later write queued behind it.
        await using var t = await TestHost.StartAsync();
        var host = (BuildStatusHost)t.Host;
        var builder = t.Host.AddBuilder("b");
        var orphan = new OrphanStep(host.Pipeline);
        lock (orphan.SyncRoot)
        {
            host.Pipeline.MarkDirty(orphan);
        }

        var build = await builder.StartBuildAsync();
        build.AddStep("fine").Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        Assert.That(host.Pipeline.Quarantined, Is.EqualTo(1));
        Assert.That(orphan.Dropped, Is.InstanceOf<BatchRejectedException>());
    }

    [Test]
    public async Task SnapshotThatThrows_OtherEntitiesOfTheBatchAreCommitted_AndQueueBytesAreReleased()
    {
        // Before: the entities taken before the throwing one lost their snapshots (their lines were already moved
        // out), and the batch's bytes were never subtracted from the queue bound.
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var host = (BuildStatusHost)t.Host;
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();
        await log.AppendLineAsync(LogChannel.Stdout, "before the defect");
        var flaky = new ThrowOnceWorker();
        lock (flaky.SyncRoot)
        {
            host.Pipeline.MarkDirty(flaky);
        }

        await log.AppendLineAsync(LogChannel.Stdout, "after the defect");
        store.Release();
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        await t.Host.FlushAsync().WaitAsync(Limit);

        var lines = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "before the defect", "after the defect" }));
        Assert.That(host.Pipeline.PendingBytes, Is.Zero);
        Assert.That(await t.Store.GetWorkerAsync("flaky"), Is.Not.Null, "the entity that threw is taken again and stored");
    }

    [Test]
    public async Task Retention_PrunesARecentBuild_ItLeavesRam_AndItsStepsRefuseChanges()
    {
        // Before: retention deleted build 1 while RAM still listed it, and Step.SetHidden (lacking the finished-build
        // check) queued a step of a build that no longer existed, which made the next batch fail.
        await using var t = await TestHost.StartAsync(o =>
        {
            o.Retention = new RetentionPolicy { MaxBuildsPerBuilder = 1 };
            o.RetentionInterval = TimeSpan.FromMilliseconds(100);
        });
        var builder = t.Host.AddBuilder("b");
        var first = await builder.StartBuildAsync();
        var firstStep = first.AddStep("s");
        await first.FinishAsync().WaitAsync(Limit);
        var second = await builder.StartBuildAsync();
        await second.FinishAsync().WaitAsync(Limit);

        var deadline = DateTime.UtcNow + Limit;
        while (builder.RecentBuilds.Count > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(builder.RecentBuilds.Select(b => b.Number), Is.EqualTo(new[] { second.Number }), "the pruned build left RAM");
        Assert.That(await t.Store.GetBuildAsync(new BuildKey("b", first.Number)), Is.Null);
        Assert.That(() => firstStep.SetHidden(true), Throws.InvalidOperationException.With.Message.Contains("finished"));
        await t.Host.FlushAsync().WaitAsync(Limit);
        Assert.That(((BuildStatusHost)t.Host).Pipeline.Quarantined, Is.Zero);
    }

    [Test]
    public void RetryDelay_UsesTheInjectedRandomizer()
    {
        var options = new BuildStatusOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(100), RetryMaxDelay = TimeSpan.FromSeconds(1), Randomizer = () => 0.5 };
        using var metrics = new BuildStatus.Hosting.BuildStatusMetrics(null);
        var pipeline = new WritePipeline(new InMemoryBuildStore(), options, TimeProvider.System, () => options.Randomizer(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, metrics);

        Assert.That(pipeline.RetryDelay(1), Is.EqualTo(TimeSpan.FromMilliseconds(90)));
        Assert.That(pipeline.RetryDelay(2), Is.EqualTo(TimeSpan.FromMilliseconds(180)));
        Assert.That(pipeline.RetryDelay(10), Is.EqualTo(TimeSpan.FromMilliseconds(900)));
    }

    /// <summary>Rejects, as impossible, the rows of steps named "poison" and the chunks of logs named <see cref="RejectChunksOf"/>.</summary>
    private sealed class RejectingStore(IBuildStore inner, bool namesKeys) : DelegatingBuildStore(inner)
    {
        private readonly FaultyStore _gate = new(inner);
        private readonly Dictionary<LogKey, string> _logNames = [];

        public string? RejectChunksOf { get; set; }

        public void Stall() => _gate.Stall();

        public void Release() => _gate.Release();

        public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            lock (_logNames)
            {
                foreach (var log in batch.Logs)
                {
                    _logNames[log.Key] = log.Name;
                }
            }

            var offending = batch.Steps.Where(s => s.Name == "poison").Select(s => (object)s.Key).ToList();
            lock (_logNames)
            {
                offending.AddRange(batch.LogChunks.Where(c => _logNames.GetValueOrDefault(c.Log) == RejectChunksOf).Select(c => (object)c.Log).Distinct());
            }

            if (offending.Count > 0)
            {
                await _gate.ApplyAsync(new WriteBatch(), cancellationToken);
                throw new BatchRejectedException("refused", namesKeys ? offending : []);
            }

            await _gate.ApplyAsync(batch, cancellationToken);
        }
    }

    private sealed class ThrowingStore(IBuildStore inner, int failures, Func<Exception> error) : DelegatingBuildStore(inner)
    {
        private int _failures;

        public int Failures => Math.Min(Volatile.Read(ref _failures), failures);

        public override Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
            => !batch.IsEmpty && Interlocked.Increment(ref _failures) <= failures
                ? throw error()
                : Inner.ApplyAsync(batch, cancellationToken);
    }

    /// <summary>A step row whose build never existed: every backend must reject it.</summary>
    private sealed class OrphanStep(WritePipeline pipeline) : PersistedEntity
    {
        private readonly Lock _sync = new();

        public Exception? Dropped { get; private set; }

        internal override Lock SyncRoot => _sync;

        internal override void AppendTo(EntitySnapshot snapshot)
            => snapshot.Row = new StoredStep(new StepKey("b", 999, 0), "orphan", "", null, null, null, [], new Dictionary<string, double>(), false);

        internal override void OnDropped(EntitySnapshot snapshot, Exception cause) => Dropped = cause;

        public override string ToString() => $"orphan step of {pipeline.GetType().Name}";
    }

    /// <summary>A worker whose first snapshot throws (a defect).</summary>
    private sealed class ThrowOnceWorker : PersistedEntity
    {
        private readonly Lock _sync = new();
        private int _calls;

        internal override Lock SyncRoot => _sync;

        internal override void AppendTo(EntitySnapshot snapshot)
        {
            if (_calls++ == 0)
            {
                throw new InvalidOperationException("injected snapshot defect");
            }

            snapshot.Row = new StoredWorker("flaky", null, new Dictionary<string, string>(), true, null);
        }
    }
}
