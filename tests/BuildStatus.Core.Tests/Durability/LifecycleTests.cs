using BuildStatus.Core.Tests.Support;
using BuildStatus.Process;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BuildStatus.Core.Tests.Durability;

/// <summary>Regression tests for the host's lifecycle: running → draining → stopped (issue: durability at every edge, item 4).</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class LifecycleTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task MutationsAfterStop_ThrowInvalidOperationSayingTheHostStopped()
    {
        // Before: FinishAsync after stop never completed, AppendAsync was silently accepted.
        await using var t = await TestHost.StartAsync(o => o.StopTimeout = TimeSpan.FromMilliseconds(200));
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.Host.StopAsync().WaitAsync(Limit);

        Assert.That(() => log.AppendAsync(LogChannel.Stdout, "late\n").AsTask(), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => build.FinishAsync(), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => build.AddStep("late"), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => step.Finish(BuildResult.Success), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => t.Host.FindBuilder("b")!.StartBuildAsync(), Throws.InvalidOperationException.With.Message.Contains("stopped"));
    }

    [Test]
    public async Task RegistrationsAfterStop_ThrowInvalidOperationSayingTheHostStopped()
    {
        // Before: AddBuilder, AddWorker, AttachWorker and DetachWorker after stop were accepted, and the rows they queued
        // were never stored.
        await using var t = await TestHost.StartAsync(o => o.StopTimeout = TimeSpan.FromMilliseconds(200));
        var builder = t.Host.AddBuilder("b");
        var worker = t.Host.AddWorker("w");
        builder.AttachWorker(worker);
        await t.Host.StopAsync().WaitAsync(Limit);

        Assert.That(() => t.Host.AddBuilder("late"), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => t.Host.AddBuilder("b", "new description"), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => t.Host.AddWorker("late"), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => builder.DetachWorker(worker), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(() => builder.AttachWorker(t.Host.FindWorker("w")!), Throws.InvalidOperationException.With.Message.Contains("stopped"));
        Assert.That(t.Host.FindBuilder("late"), Is.Null);
        Assert.That(t.Host.FindWorker("late"), Is.Null);
        Assert.That(builder.Description, Is.Null);
        Assert.That(builder.Workers, Is.EqualTo(new[] { worker }));
    }

    [Test]
    public async Task AppendAsync_AfterDispose_ThrowsInvalidOperation_NotADisposedSemaphore()
    {
        var t = await TestHost.StartAsync();
        var (_, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.DisposeAsync();

        Assert.That(() => log.AppendAsync(LogChannel.Stdout, "late\n").AsTask(), Throws.InvalidOperationException.With.Message.Contains("stopped"));
    }

    [Test]
    public async Task AppendWaitingForSpace_WhenTheHostStops_Faults()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => (o.MaxQueueBytes, o.StopTimeout) = (64 * 1024, TimeSpan.FromMilliseconds(200)), store);
        var (_, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();
        await log.AppendAsync(LogChannel.Stdout, new string('y', 60 * 1024) + "\n" + new string('y', 10 * 1024) + "\n");
        var waiting = log.AppendAsync(LogChannel.Stdout, "waits\n").AsTask();
        Assert.That(waiting.IsCompleted, Is.False);

        await t.Host.StopAsync().WaitAsync(Limit);

        Assert.That(() => waiting.WaitAsync(Limit), Throws.InstanceOf<BuildStoreException>().Or.InstanceOf<InvalidOperationException>());
        store.Release();
    }

    [Test]
    public async Task StopAsync_WhileABuildRuns_Drains_TheBuildMayFinishAndIsStored_NoNewBuildStarts()
    {
        await using var t = await TestHost.StartAsync();
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        var stop = t.Host.StopAsync();
        Assert.That(() => t.Host.FindBuilder("b")!.StartBuildAsync(), Throws.InvalidOperationException.With.Message.Contains("stopping"));
        Assert.That(stop.IsCompleted, Is.False, "draining waits for the running build");
        await log.AppendLineAsync(LogChannel.Stdout, "still running");
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        await stop.WaitAsync(Limit);

        var stored = await t.Store.GetBuildAsync(new BuildKey("b", build.Number));
        Assert.That(stored!.Result, Is.EqualTo(BuildResult.Success));
        Assert.That((await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10)).Single().Text, Is.EqualTo("still running"));
    }

    [Test]
    public async Task StopAsync_BuildStillRunningAtTimeout_ItsPartialLineIsStored_AndItsFinishTaskFaults()
    {
        await using var t = await TestHost.StartAsync(o => o.StopTimeout = TimeSpan.FromMilliseconds(300));
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendAsync(LogChannel.Stdout, "whole\npartial without newline");

        await t.Host.StopAsync().WaitAsync(Limit);

        var lines = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "whole", "partial without newline" }), "a graceful stop stores a pending partial line");
        Assert.That(build.IsFinished, Is.False);
    }

    [Test]
    public async Task PendingDurabilityTask_WhenStopGivesUp_FaultsWithTheStop()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => o.StopTimeout = TimeSpan.FromMilliseconds(200), store);
        var (build, _, _) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();
        var finish = build.FinishAsync();

        await t.Host.StopAsync().WaitAsync(Limit);

        var ex = Assert.ThrowsAsync<BuildStoreException>(() => finish.WaitAsync(Limit));
        Assert.That(ex!.Message, Does.Contain("stopped"));
        store.Release();
    }

    [Test]
    public async Task StopAndDispose_CalledConcurrently_AreSafeAndIdempotent()
    {
        // Before: two concurrent DisposeAsync calls threw ObjectDisposedException in about half of the tries.
        for (var i = 0; i < 20; i++)
        {
            var t = await TestHost.StartAsync();
            var host = t.Host;
            var calls = Enumerable.Range(0, 8).Select(n => n % 3 == 0 ? host.StopAsync() : host.DisposeAsync().AsTask()).ToArray();
            await Task.WhenAll(calls).WaitAsync(Limit);
            await host.DisposeAsync();
            await host.StopAsync();
            await t.DisposeAsync();
        }
    }

    [Test]
    public async Task GenericHost_ServiceRegisteredFirstFinishesItsBuildsInItsStopAsync_TheyAreStoredAndShutdownIsQuick()
    {
        // Before: the library's hosted service could stop before the CI host's own service, which then finished its
        // builds into a stopped pipeline: shutdown hung until ShutdownTimeout and the data was dropped.
        var store = new InMemoryBuildStore();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<CiService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CiService>());
        builder.Services.AddBuildStatus(b => b.UseStore(_ => new NonDisposingStore(store)).Configure(o => o.StopTimeout = TimeSpan.FromSeconds(20)));
        using var app = builder.Build();
        await app.StartAsync();
        var ci = app.Services.GetRequiredService<CiService>();
        var build = await ci.StartAsync(app.Services.GetRequiredService<IBuildStatusHost>());

        var started = DateTime.UtcNow;
        await app.StopAsync().WaitAsync(Limit);

        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(15)), "shutdown does not wait for a timeout");
        Assert.That(ci.FinishError, Is.Null);
        var stored = await store.GetBuildAsync(new BuildKey("ci", build.Number));
        Assert.That(stored!.Result, Is.EqualTo(BuildResult.Cancelled));
    }

    private sealed class CiService : IHostedService
    {
        private IBuild? _build;

        public Exception? FinishError { get; private set; }

        public async Task<IBuild> StartAsync(IBuildStatusHost host)
        {
            _build = await host.AddBuilder("ci").StartBuildAsync();
            return _build;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            try
            {
                await _build!.FinishAsync(BuildResult.Cancelled, "host shutting down", cancellationToken);
            }
            catch (Exception ex)
            {
                FinishError = ex;
            }
        }
    }
}

/// <summary>Regression tests for starting a build from a request (issue: durability at every edge, item 5).</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class RequestStartTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task StartBuildAsync_SameRequestTwiceAtOnce_StartsOneBuild()
    {
        var store = new GatedCreateStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var builder = t.Host.AddBuilder("b");
        var request = builder.SubmitRequest("push");
        store.Close();

        var first = builder.StartBuildAsync(new BuildStartInfo { Request = request });
        Assert.That(() => builder.StartBuildAsync(new BuildStartInfo { Request = request }), Throws.InvalidOperationException.With.Message.Contains("being started"));
        store.Open();
        var build = await first.WaitAsync(Limit);

        Assert.That(request.Build, Is.SameAs(build));
        Assert.That(builder.PendingRequests, Is.Empty);
        await build.FinishAsync().WaitAsync(Limit);
    }

    [Test]
    public async Task StartBuildAsync_RequestCancelledWhileTheNumberIsAllocated_NoOrphan_BuildStoredAsCancelled()
    {
        // Before: MarkStarted threw after the build was added to CurrentBuilds: it stayed there forever, stored
        // unfinished, and the builder said Idle with one current build.
        var store = new GatedCreateStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var builder = t.Host.AddBuilder("b");
        var request = builder.SubmitRequest("push");
        store.Close();

        var start = builder.StartBuildAsync(new BuildStartInfo { Request = request });
        await store.Entered.WaitAsync(Limit);
        request.Cancel();
        store.Open();

        Assert.That(() => start.WaitAsync(Limit), Throws.InvalidOperationException.With.Message.Contains("cancelled"));
        Assert.That(builder.CurrentBuilds, Is.Empty);
        Assert.That(builder.State, Is.Not.EqualTo(BuilderState.Building));
        var stored = await t.Store.GetBuildAsync(new BuildKey("b", 1));
        Assert.That(stored!.Result, Is.EqualTo(BuildResult.Cancelled));
        Assert.That(stored.IsFinished, Is.True);
    }

    [Test]
    public async Task StartBuildAsync_AllocationCancelled_RequestStaysPendingAndCanStart()
    {
        var store = new GatedCreateStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var builder = t.Host.AddBuilder("b");
        var request = builder.SubmitRequest("push");
        store.Close();
        using var cts = new CancellationTokenSource();

        var start = builder.StartBuildAsync(new BuildStartInfo { Request = request }, cts.Token);
        await store.Entered.WaitAsync(Limit);
        cts.Cancel();
        Assert.That(() => start.WaitAsync(Limit), Throws.InstanceOf<OperationCanceledException>());
        store.Open();

        var build = await builder.StartBuildAsync(new BuildStartInfo { Request = request }).WaitAsync(Limit);
        Assert.That(request.Build, Is.SameAs(build));
        await build.FinishAsync().WaitAsync(Limit);
    }

    [Test]
    public async Task FinishAsync_CalledConcurrently_FinishesOnce()
    {
        // Before: the finished flag was set after the build's lock was released, so a second FinishAsync could get in
        // (a duplicate BuildFinished and RecentBuilds entry).
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        for (var i = 0; i < 200; i++)
        {
            var build = await builder.StartBuildAsync();
            using var barrier = new Barrier(2);
            var calls = Enumerable.Range(0, 2).Select(n => Task.Run(() =>
            {
                barrier.SignalAndWait();
                try
                {
                    _ = build.FinishAsync();
                    return true;
                }
                catch (InvalidOperationException)
                {
                    return false;
                }
            })).ToArray();
            var results = await Task.WhenAll(calls).WaitAsync(Limit);
            Assert.That(results.Count(r => r), Is.EqualTo(1), "exactly one FinishAsync takes effect");
        }

        var recent = builder.RecentBuilds.Select(b => b.Number).ToArray();
        Assert.That(recent, Is.Unique);
        await t.Host.FlushAsync().WaitAsync(Limit);
    }

    /// <summary>A store whose CreateBuildAsync waits while closed.</summary>
    private sealed class GatedCreateStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private volatile TaskCompletionSource _open = NewOpen(true);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void Close() => _open = NewOpen(false);

        public void Open() => _open.TrySetResult();

        public override async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
        {
            _entered.TrySetResult();
            await _open.Task.WaitAsync(cancellationToken);
            return await Inner.CreateBuildAsync(build, cancellationToken);
        }

        private static TaskCompletionSource NewOpen(bool open)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (open)
            {
                tcs.TrySetResult();
            }

            return tcs;
        }
    }
}

/// <summary>Regression tests for the maximum line length and partial lines (issue: durability at every edge, item 6).</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class LineLengthTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AppendAsync_TextThatNeverEndsALine_IsSplitEveryMaxLineLengthChars()
    {
        await using var t = await TestHost.StartAsync(o => o.MaxLineLength = 16);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendAsync(LogChannel.Stdout, new string('a', 20));
        await log.AppendAsync(LogChannel.Stdout, new string('b', 20));
        Assert.That(log.LineCount, Is.EqualTo(2), "40 chars: two lines of 16, 8 chars still partial");
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);

        var lines = await t.Store.ReadLogLinesAsync(new LogKey("b", build.Number, 0, 0), 0, 10);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { new string('a', 16), "aaaa" + new string('b', 12), new string('b', 8) }));
    }

    [Test]
    public async Task AppendAsync_SplitFallsInsideASurrogatePair_ThePairStaysTogether()
    {
        await using var t = await TestHost.StartAsync(o => o.MaxLineLength = 16);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendLineAsync(LogChannel.Stdout, new string('x', 15) + "\uD83D\uDE80" + "y");

        Assert.That(log.Tail.Select(l => l.Text), Is.EqualTo(new[] { new string('x', 15), "\uD83D\uDE80y" }));
        await build.FinishAsync().WaitAsync(Limit);
    }

    [Test]
    public async Task PartialLine_CountsTowardTheQueueBound_SoAppendsWait()
    {
        // Before: partial lines did not count: 200 appends of 1 M chars without '\n' grew the heap by 1.36 GiB with
        // no backpressure wait.
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => (o.MaxQueueBytes, o.MaxLineLength) = (64 * 1024, 1024 * 1024), store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();

        await log.AppendAsync(LogChannel.Stdout, new string('l', 20 * 1024) + "\n");
        await log.AppendAsync(LogChannel.Stdout, new string('p', 40 * 1024));
        var next = log.AppendAsync(LogChannel.Stdout, "more");

        Assert.That(((BuildStatusHost)t.Host).Pipeline.PendingBytes, Is.GreaterThanOrEqualTo(100 * 1024), "20 KiB of line + 80 KiB of partial line");
        Assert.That(next.IsCompleted, Is.False, "the partial line counts: the queue is full");
        store.Release();
        await next.AsTask().WaitAsync(Limit);
        await build.FinishAsync().WaitAsync(Limit);
        Assert.That(((BuildStatusHost)t.Host).Pipeline.PendingBytes, Is.Zero);
    }
}
