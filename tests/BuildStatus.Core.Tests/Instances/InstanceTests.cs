using BuildStatus.Core.Tests.Support;
using BuildStatus.Process;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Instances;

/// <summary>Host instances, leases, recovery of only what is dead, and fencing, on the in-memory store with a fake clock.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class InstanceTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task BlueGreen_SecondHostWithTheSameName_LeavesTheRunningBuildAlone()
    {
        // Before: recovery finished every unfinished build of the host name, the old process's running build included.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        await using var blue = await TestHost.StartAsync(o => o.HostName = "ci", store, time);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(blue.Host);
        await log.AppendLineAsync(LogChannel.Stdout, "blue is running");
        await blue.Host.FlushAsync().WaitAsync(Limit);

        await using var green = await TestHost.StartAsync(o => o.HostName = "ci", store, time);
        await TickAsync(time, green, 2);

        Assert.That((await store.GetBuildAsync(new BuildKey("b", build.Number)))!.IsFinished, Is.False, "green never touches blue's live build");
        Assert.That(green.Host.Instances.Select(i => i.Id), Is.EquivalentTo(new[] { blue.Host.InstanceId!.Value, green.Host.InstanceId!.Value }));
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        Assert.That((await store.GetBuildAsync(new BuildKey("b", build.Number)))!.Result, Is.EqualTo(BuildResult.Success));
    }

    [Test]
    public async Task StoppedInstance_ItsUnfinishedBuildsAreRecoveredByTheNextStart()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        var first = await TestHost.StartAsync(o => (o.HostName, o.StopTimeout) = ("ci", TimeSpan.FromMilliseconds(50)), store, time);
        var (build, _, _) = await TestHost.StartBuildWithLogAsync(first.Host);
        await first.Host.FlushAsync().WaitAsync(Limit);
        var firstId = first.Host.InstanceId!.Value;
        var stop = first.DisposeAsync().AsTask();
        await AdvanceUntilAsync(time, stop);

        await using var second = await TestHost.StartAsync(o => o.HostName = "another-name", store, time);

        var stored = await store.GetBuildAsync(new BuildKey("b", build.Number));
        Assert.That(stored!.Result, Is.EqualTo(BuildResult.Retry));
        Assert.That(stored.StateText, Does.Contain($"instance {firstId}").And.Contain("stopped"));
        Assert.That((await store.GetInstancesAsync()).Select(i => i.Id), Does.Not.Contain(firstId), "recovered once, then no longer listed");
    }

    [Test]
    public async Task PausedPastItsLease_IsRecoveredByTheOther_ThenFenced_ReportsTheLoss_AndReregisters()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        var paused = new PausableStore(store);
        await using var zombie = await TestHost.StartAsync(o => o.HostName = "ci", paused, time);
        var events = new List<StatusEvent>();
        using var subscription = zombie.Host.Subscribe(new Collector(events));
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(zombie.Host);
        await log.AppendLineAsync(LogChannel.Stdout, "before the pause");
        await zombie.Host.FlushAsync().WaitAsync(Limit);
        var zombieId = zombie.Host.InstanceId!.Value;

        paused.Pause();
        await using var survivor = await TestHost.StartAsync(o => o.HostName = "ci", store, time);
        await TickAsync(time, survivor, 4);

        var recovered = await store.GetBuildAsync(new BuildKey("b", build.Number));
        Assert.That(recovered!.Result, Is.EqualTo(BuildResult.Retry), "the survivor recovered the paused instance's build");
        Assert.That(recovered.StateText, Does.Contain($"instance {zombieId}").And.Contain("lease"));

        await log.AppendLineAsync(LogChannel.Stdout, "after the pause");
        step.Finish(BuildResult.Success);
        var finish = build.FinishAsync();
        paused.Resume();

        Assert.ThrowsAsync<BuildStoreException>(() => finish.WaitAsync(Limit), "nothing the zombie wrote afterwards is acknowledged");
        await WaitUntilAsync(() => zombie.Host.InstanceId != zombieId && zombie.Host.InstanceId is not null);
        var after = await store.GetBuildAsync(new BuildKey("b", build.Number));
        Assert.That(after!.Result, Is.EqualTo(BuildResult.Retry), "the recovered build is untouched");
        Assert.That(after.StateText, Is.EqualTo(recovered.StateText));
        Assert.That((await store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10)).Select(l => l.Text), Is.EqualTo(new[] { "before the pause" }));

        var next = await zombie.Host.FindBuilder("b")!.StartBuildAsync().WaitAsync(Limit);
        await next.FinishAsync().WaitAsync(Limit);
        Assert.That((await store.GetBuildAsync(new BuildKey("b", next.Number)))!.IsFinished, Is.True, "the re-registered instance works");
        var health = await zombie.Services.GetRequiredService<BuildStatusHealthCheck>().CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.Not.EqualTo(HealthStatus.Unhealthy));
    }

    [Test]
    public async Task LiveBuildOfAFencedInstance_GetsBuildLostThenBuildFinishedRetry()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        var paused = new PausableStore(store);
        await using var zombie = await TestHost.StartAsync(o => o.HostName = "ci", paused, time);
        var events = new List<StatusEvent>();
        using var subscription = zombie.Host.Subscribe(new Collector(events));
        var (build, _, _) = await TestHost.StartBuildWithLogAsync(zombie.Host);
        await zombie.Host.FlushAsync().WaitAsync(Limit);

        paused.Pause();
        await using var survivor = await TestHost.StartAsync(o => o.HostName = "ci", store, time);
        await TickAsync(time, survivor, 4);
        paused.Resume();
        await TickAsync(time, zombie, 2);
        await WaitUntilAsync(() => build.IsFinished);

        Assert.That(build.Result, Is.EqualTo(BuildResult.Retry));
        Assert.That(build.StateText, Does.Contain("lost"));
        await WaitUntilAsync(() => { lock (events) { return events.OfType<BuildFinished>().Any(); } });
        lock (events)
        {
            var kinds = events.Where(e => e is BuildLost or BuildFinished).Select(e => e.Kind).ToArray();
            Assert.That(kinds, Is.EqualTo(new[] { StatusEventKinds.BuildLost, StatusEventKinds.BuildFinished }));
        }
    }

    [Test]
    public async Task BuildFinishedWhileFenced_ItsLastSnapshotTakenAfterReregistering_DoesNotOverwriteTheRecovery()
    {
        // Before: a build finished on the paused instance kept its final row queued; once the instance had registered
        // anew, that row was written with the new instance id, which the store accepted, overwriting the Retry.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        var gated = new PausableStore(store) { PauseLeases = false };
        await using var zombie = await TestHost.StartAsync(o => (o.HostName, o.GroupCommitDelay) = ("ci", TimeSpan.Zero), gated, time);
        var (build, step, _) = await TestHost.StartBuildWithLogAsync(zombie.Host);
        var (other, _, otherLog) = await TestHost.StartBuildWithLogAsync(zombie.Host, "other");
        await zombie.Host.FlushAsync().WaitAsync(Limit);

        // The writer blocks in a commit of another build's line, so the finished build's row waits in the queue.
        gated.Pause();
        await otherLog.AppendLineAsync(LogChannel.Stdout, "the writer is stuck on this");
        await gated.Entered.WaitAsync(Limit);
        step.Finish(BuildResult.Success);
        var finish = build.FinishAsync();

        // Meanwhile its lease runs out (its renewals are stuck too) and another instance recovers it.
        gated.PauseLeaseCalls();
        await using var survivor = await TestHost.StartAsync(o => o.HostName = "ci", store, time);
        var zombieLease = ((BuildStatusHost)zombie.Host).Lease!;
        var survivorLease = ((BuildStatusHost)survivor.Host).Lease!;
        time.Advance(TimeSpan.FromSeconds(31));
        await survivorLease.TickAsync(CancellationToken.None).WaitAsync(Limit);
        Assert.That((await store.GetBuildAsync(new BuildKey("b", build.Number)))!.Result, Is.EqualTo(BuildResult.Retry));

        // The zombie learns it was fenced and registers anew, then its writer resumes.
        gated.ResumeLeaseCalls();
        await zombieLease.TickAsync(CancellationToken.None).WaitAsync(Limit);
        await WaitUntilAsync(() => !zombieLease.IsFenced);
        gated.Resume();

        Assert.ThrowsAsync<BuildStoreException>(() => finish.WaitAsync(Limit));
        await zombie.Host.FlushAsync().ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.That((await store.GetBuildAsync(new BuildKey("b", build.Number)))!.Result, Is.EqualTo(BuildResult.Retry), "the recovery stands");
        Assert.That(other.IsFinished, Is.True, "the other live build was lost too");
    }

    [Test]
    public async Task WriterAndBuildMetrics_CarryTheHostAndTheInstance()
    {
        var meterFactory = new TestMeterFactory();
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddSingleton<System.Diagnostics.Metrics.IMeterFactory>(meterFactory);
        services.AddBuildStatus(b => b.UseInMemoryStorage().Configure(o => o.HostName = "tagged-host"));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();
        var seen = new List<(string Instrument, string? Host, object? Instance)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meterFactory) && instrument.Name is "buildstatus.builds.started" or "buildstatus.writer.batch_size")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => Record(instrument.Name, tags));
        listener.SetMeasurementEventCallback<int>((instrument, _, tags, _) => Record(instrument.Name, tags));
        listener.Start();
        await host.StartAsync();

        var build = await host.AddBuilder("b").StartBuildAsync();
        await build.FinishAsync().WaitAsync(Limit);
        await host.StopAsync();

        lock (seen)
        {
            Assert.That(seen.Select(s => s.Instrument).Distinct(), Is.EquivalentTo(new[] { "buildstatus.builds.started", "buildstatus.writer.batch_size" }));
            Assert.That(seen.All(s => s.Host == "tagged-host" && Equals(s.Instance, host.InstanceId)), Is.True, string.Join("; ", seen));
        }

        void Record(string name, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? hostTag = null;
            object? instanceTag = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "buildstatus.host.name")
                {
                    hostTag = tag.Value as string;
                }
                else if (tag.Key == "buildstatus.instance.id")
                {
                    instanceTag = tag.Value;
                }
            }

            lock (seen)
            {
                seen.Add((name, hostTag, instanceTag));
            }
        }
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options.Name, options.Version, options.Tags, scope: this);
            lock (_meters)
            {
                _meters.Add(meter);
            }

            return meter;
        }

        public void Dispose()
        {
            lock (_meters)
            {
                _meters.ForEach(m => m.Dispose());
            }
        }
    }

    [Test]
    public async Task CreateBuildAsync_RetriedAfterAnAmbiguousFailure_GetsTheSameNumber()
    {
        var store = new AmbiguousCreateStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);

        var build = await t.Host.AddBuilder("b").StartBuildAsync().WaitAsync(Limit);

        Assert.That(store.Calls, Is.EqualTo(2), "the first call committed but reported a failure");
        Assert.That(build.Number, Is.EqualTo(1));
        Assert.That(await t.Store.QueryBuildsAsync(new BuildQuery("b")), Has.Count.EqualTo(1), "no second build");
        await build.FinishAsync().WaitAsync(Limit);
    }

    [Test]
    public async Task StorageOutageLongerThanTheLease_TheFirstHostBackDoesNotRecoverTheOthers()
    {
        // Before: the first host whose heartbeat reached the store again found the other's lease run out (the outage
        // was longer than the lease) and finished its running build as Retry, though that host was alive all along.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        var outage = new Outage();
        await using var a = await TestHost.StartAsync(o => o.HostName = "a", new OutageStore(store, outage), time);
        await using var b = await TestHost.StartAsync(o => o.HostName = "b", new OutageStore(store, outage), time);
        var (build, step, _) = await TestHost.StartBuildWithLogAsync(b.Host);
        await b.Host.FlushAsync().WaitAsync(Limit);
        var leaseA = ((BuildStatusHost)a.Host).Lease!;
        var leaseB = ((BuildStatusHost)b.Host).Lease!;

        outage.Down = true;
        time.Advance(TimeSpan.FromSeconds(90));
        await leaseA.TickAsync(CancellationToken.None).WaitAsync(Limit);
        await leaseB.TickAsync(CancellationToken.None).WaitAsync(Limit);
        outage.Down = false;

        await leaseA.TickAsync(CancellationToken.None).WaitAsync(Limit);   // a is back first
        await leaseB.TickAsync(CancellationToken.None).WaitAsync(Limit);   // then b renews
        await leaseA.TickAsync(CancellationToken.None).WaitAsync(Limit);   // a's next heartbeat: b is live

        Assert.That((await store.GetBuildAsync(new BuildKey("b", build.Number)))!.IsFinished, Is.False, "b's running build is left alone");
        Assert.That(leaseB.IsFenced, Is.False);
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        Assert.That((await store.GetBuildAsync(new BuildKey("b", build.Number)))!.Result, Is.EqualTo(BuildResult.Success));
    }

    private static async Task TickAsync(FakeTimeProvider time, TestHost host, int heartbeats)
    {
        // Each step past a heartbeat lets the host's timer fire, then runs its tick to the end.
        var lease = ((BuildStatusHost)host.Host).Lease!;
        for (var i = 0; i < heartbeats; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await lease.TickAsync(CancellationToken.None).WaitAsync(Limit);
        }
    }

    private static async Task AdvanceUntilAsync(FakeTimeProvider time, Task task)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!task.IsCompleted && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }

        await task;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not met in time");
            await Task.Delay(10);
        }
    }

    private sealed class Collector(List<StatusEvent> events) : IStatusReceiver
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

    private sealed class Outage
    {
        public volatile bool Down;
    }

    /// <summary>A store that is unreachable while its <see cref="Outage"/> is down: every call throws, as a database that is restarting does.</summary>
    private sealed class OutageStore(IBuildStore inner, Outage outage) : DelegatingBuildStore(inner)
    {
        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public override Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
            => outage.Down ? Fail<int>() : base.ApplyAsync(batch, cancellationToken);

        public override Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
            => outage.Down ? Fail<StoredInstance?>() : base.RenewLeaseAsync(instanceId, now, lease, cancellationToken);

        public override Task<IReadOnlyList<StoredInstance>> ClaimDeadInstancesAsync(long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
            => outage.Down ? Fail<IReadOnlyList<StoredInstance>>() : base.ClaimDeadInstancesAsync(claimerId, now, cancellationToken);

        public override Task<IReadOnlyList<StoredInstance>> GetInstancesAsync(CancellationToken cancellationToken = default)
            => outage.Down ? Fail<IReadOnlyList<StoredInstance>>() : base.GetInstancesAsync(cancellationToken);

        protected override void Dispose(bool disposing)
        {
        }

        private static Task<T> Fail<T>() => Task.FromException<T>(new BuildStoreException("The store is unreachable (test)."));
    }

    /// <summary>A store whose every write and lease call waits while paused: a process stopped with SIGSTOP, as the store sees it.</summary>
    private sealed class PausableStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private volatile TaskCompletionSource _gate = Open();
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private volatile TaskCompletionSource? _leaseGate;

        /// <summary>Gets or sets whether lease renewals and claims wait with the writes (a paused process); false gives them a gate of their own.</summary>
        public bool PauseLeases { get; init; } = true;

        public void PauseLeaseCalls() => _leaseGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ResumeLeaseCalls() => _leaseGate?.TrySetResult();

        private Task LeaseGate => PauseLeases ? _gate.Task : _leaseGate?.Task ?? Task.CompletedTask;

        /// <summary>Completes once a write waits at the paused gate.</summary>
        public Task Entered => _entered.Task;

        public void Pause() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Resume() => _gate.TrySetResult();

        public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            if (!_gate.Task.IsCompleted)
            {
                _entered.TrySetResult();
            }

            await _gate.Task.WaitAsync(cancellationToken);
            await Inner.ApplyAsync(batch, cancellationToken);
        }

        public override async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
        {
            await _gate.Task.WaitAsync(cancellationToken);
            return await Inner.CreateBuildAsync(build, cancellationToken);
        }

        public override async Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            await LeaseGate.WaitAsync(cancellationToken);

            return await base.RenewLeaseAsync(instanceId, now, lease, cancellationToken);
        }

        public override async Task<IReadOnlyList<StoredInstance>> ClaimDeadInstancesAsync(long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            await LeaseGate.WaitAsync(cancellationToken);

            return await base.ClaimDeadInstancesAsync(claimerId, now, cancellationToken);
        }

        private static TaskCompletionSource Open()
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tcs.TrySetResult();
            return tcs;
        }
    }

    /// <summary>The first CreateBuildAsync commits and then reports a failure, as a lost connection after COMMIT does.</summary>
    private sealed class AmbiguousCreateStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
        {
            var number = await Inner.CreateBuildAsync(build, cancellationToken);
            if (Interlocked.Increment(ref _calls) == 1)
            {
                throw new IOException("injected: connection lost after the commit");
            }

            return number;
        }
    }
}
