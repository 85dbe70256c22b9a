using System.Diagnostics.Metrics;
using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Diagnostics;

[TestFixture]
public sealed class CicdMetricsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task FinishAsync_FailedBuild_RecordsExecutingDurationWithResultAndErrorAndCountsTheError()
    {
        await using var m = await MeteredHost.StartAsync();
        var build = await m.Host.AddBuilder("linux").StartBuildAsync();
        m.Time.Advance(TimeSpan.FromSeconds(90));
        await build.FinishAsync(BuildResult.Failure);

        var duration = m.Metrics.Of("cicd.pipeline.run.duration").Single();
        Assert.Multiple(() =>
        {
            Assert.That(duration.Value, Is.EqualTo(90));
            Assert.That(duration["cicd.pipeline.name"], Is.EqualTo("linux"));
            Assert.That(duration["cicd.pipeline.run.state"], Is.EqualTo("executing"));
            Assert.That(duration["cicd.pipeline.result"], Is.EqualTo("failure"));
            Assert.That(duration["error.type"], Is.EqualTo("failure"));
            Assert.That(duration["buildstatus.host.name"], Is.EqualTo(m.HostName));
            Assert.That(duration.Tags, Has.Count.EqualTo(5));
        });
        var error = m.Metrics.Of("cicd.pipeline.run.errors").Single();
        Assert.Multiple(() =>
        {
            Assert.That(error.Value, Is.EqualTo(1));
            Assert.That(error["cicd.pipeline.name"], Is.EqualTo("linux"));
            Assert.That(error["error.type"], Is.EqualTo("failure"));
            Assert.That(error["buildstatus.host.name"], Is.EqualTo(m.HostName));
        });
    }

    [TestCase(BuildResult.Success, "success")]
    [TestCase(BuildResult.Warnings, "success")]
    [TestCase(BuildResult.Skipped, "skip")]
    [TestCase(BuildResult.Cancelled, "cancellation")]
    public async Task FinishAsync_BuildThatDidNotFail_RecordsDurationWithoutErrorType(BuildResult result, string expected)
    {
        await using var m = await MeteredHost.StartAsync();
        var build = await m.Host.AddBuilder("linux").StartBuildAsync();
        m.Time.Advance(TimeSpan.FromMilliseconds(2500));
        await build.FinishAsync(result);

        var duration = m.Metrics.Of("cicd.pipeline.run.duration").Single();
        Assert.That(duration.Value, Is.EqualTo(2.5));
        Assert.That(duration["cicd.pipeline.result"], Is.EqualTo(expected));
        Assert.That(duration.Tags.ContainsKey("error.type"), Is.False);
        Assert.That(m.Metrics.Of("cicd.pipeline.run.errors"), Is.Empty);
    }

    [TestCase(BuildResult.Exception, "exception")]
    [TestCase(BuildResult.Retry, "retry")]
    public async Task FinishAsync_BuildMachineryError_CountsAnErrorOfThatType(BuildResult result, string errorType)
    {
        await using var m = await MeteredHost.StartAsync();
        var build = await m.Host.AddBuilder("linux").StartBuildAsync();
        await build.FinishAsync(result);

        Assert.That(m.Metrics.Of("cicd.pipeline.run.duration").Single()["cicd.pipeline.result"], Is.EqualTo("error"));
        Assert.That(m.Metrics.Of("cicd.pipeline.run.errors").Single()["error.type"], Is.EqualTo(errorType));
    }

    [Test]
    public async Task StartBuildAsync_ForARequest_RecordsThePendingDurationWithoutResult()
    {
        await using var m = await MeteredHost.StartAsync();
        var builder = m.Host.AddBuilder("linux");
        var request = builder.SubmitRequest("push");
        m.Time.Advance(TimeSpan.FromSeconds(30));
        var build = await builder.StartBuildAsync(new BuildStartInfo { Request = request });

        var pending = m.Metrics.Of("cicd.pipeline.run.duration").Single();
        Assert.Multiple(() =>
        {
            Assert.That(pending.Value, Is.EqualTo(30));
            Assert.That(pending["cicd.pipeline.name"], Is.EqualTo("linux"));
            Assert.That(pending["cicd.pipeline.run.state"], Is.EqualTo("pending"));
            Assert.That(pending.Tags.ContainsKey("cicd.pipeline.result"), Is.False);
            Assert.That(pending["buildstatus.host.name"], Is.EqualTo(m.HostName));
        });
        await build.FinishAsync();
    }

    [Test]
    public async Task Observe_RunsAndWorkers_AreCountedByState()
    {
        await using var m = await MeteredHost.StartAsync();
        var linux = m.Host.AddBuilder("linux");
        m.Host.AddBuilder("windows");
        var busy = m.Host.AddWorker("busy");
        busy.Connect();
        m.Host.AddWorker("idle").Connect();
        m.Host.AddWorker("never-connected");
        var gone = m.Host.AddWorker("gone");
        gone.Connect();
        gone.Disconnect();
        var first = await linux.StartBuildAsync(new BuildStartInfo { Worker = busy });
        var second = await linux.StartBuildAsync();
        linux.SubmitRequest("push");

        m.Metrics.Observe();

        var active = m.Metrics.Of("cicd.pipeline.run.active");
        Assert.That(active.All(a => (string?)a["buildstatus.host.name"] == m.HostName), Is.True);
        double Active(string pipeline, string state) => active.Single(a => (string?)a["cicd.pipeline.name"] == pipeline && (string?)a["cicd.pipeline.run.state"] == state).Value;
        Assert.Multiple(() =>
        {
            Assert.That(active, Has.Count.EqualTo(4), "both states of both builders, zeros included");
            Assert.That(Active("linux", "executing"), Is.EqualTo(2));
            Assert.That(Active("linux", "pending"), Is.EqualTo(1));
            Assert.That(Active("windows", "executing"), Is.EqualTo(0));
            Assert.That(Active("windows", "pending"), Is.EqualTo(0));
        });

        var workers = m.Metrics.Of("cicd.worker.count");
        double Workers(string state) => workers.Single(w => (string?)w["cicd.worker.state"] == state).Value;
        Assert.Multiple(() =>
        {
            Assert.That(workers, Has.Count.EqualTo(3));
            Assert.That(Workers("busy"), Is.EqualTo(1));
            Assert.That(Workers("available"), Is.EqualTo(1));
            Assert.That(Workers("offline"), Is.EqualTo(2));
            Assert.That(workers.All(w => (string?)w["buildstatus.host.name"] == m.HostName), Is.True);
        });

        await first.FinishAsync();
        await second.FinishAsync();
        m.Metrics.Clear();
        m.Metrics.Observe();
        Assert.That(m.Metrics.Of("cicd.pipeline.run.active").Single(a => (string?)a["cicd.pipeline.name"] == "linux" && (string?)a["cicd.pipeline.run.state"] == "executing").Value, Is.EqualTo(0));
        Assert.That(m.Metrics.Of("cicd.worker.count").Single(w => (string?)w["cicd.worker.state"] == "available").Value, Is.EqualTo(2), "the busy worker is idle again");
    }

    [Test]
    public async Task Instruments_FollowTheConventionsTypesAndUnits()
    {
        await using var m = await MeteredHost.StartAsync();
        var instruments = m.Metrics.Instruments;
        Assert.Multiple(() =>
        {
            Assert.That(instruments["cicd.pipeline.run.duration"], Is.InstanceOf<Histogram<double>>());
            Assert.That(instruments["cicd.pipeline.run.duration"].Unit, Is.EqualTo("s"));
            Assert.That(((Histogram<double>)instruments["cicd.pipeline.run.duration"]).Advice?.HistogramBucketBoundaries, Does.Contain(3600.0));
            Assert.That(instruments["cicd.pipeline.run.active"], Is.InstanceOf<ObservableUpDownCounter<long>>());
            Assert.That(instruments["cicd.pipeline.run.active"].Unit, Is.EqualTo("{run}"));
            Assert.That(instruments["cicd.pipeline.run.errors"], Is.InstanceOf<Counter<long>>());
            Assert.That(instruments["cicd.pipeline.run.errors"].Unit, Is.EqualTo("{error}"));
            Assert.That(instruments["cicd.worker.count"], Is.InstanceOf<ObservableUpDownCounter<long>>());
            Assert.That(instruments["cicd.worker.count"].Unit, Is.EqualTo("{count}"));
        });
    }

    [Test]
    public async Task WriterAndBuildMetrics_CarryTheHostName()
    {
        await using var m = await MeteredHost.StartAsync();
        var build = await m.Host.AddBuilder("linux").StartBuildAsync();
        await build.FinishAsync();
        m.Metrics.Observe();

        foreach (var name in new[] { "buildstatus.builds.started", "buildstatus.builds.finished", "buildstatus.writer.batch_size", "buildstatus.writer.commit_latency", "buildstatus.writer.queue_length", "buildstatus.writer.queue_bytes", "buildstatus.events.dropped" })
        {
            var measurements = m.Metrics.Of(name);
            Assert.That(measurements, Is.Not.Empty, name);
            Assert.That(measurements.Select(x => x["buildstatus.host.name"]), Is.All.EqualTo(m.HostName), name);
        }
    }

    [Test]
    public async Task WriterMetrics_RetriesOfAFailingStore_CarryTheHostName()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var m = await MeteredHost.StartAsync(store, realTime: true); // retries wait on the host's clock
        store.FailNext(2);
        var build = await m.Host.AddBuilder("linux").StartBuildAsync();
        await build.FinishAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(m.Metrics.Of("buildstatus.writer.failures").Select(x => x["buildstatus.host.name"]).ToArray(), Is.Not.Empty.And.All.EqualTo(m.HostName));
        Assert.That(m.Metrics.Of("buildstatus.writer.retries").Select(x => x["buildstatus.host.name"]).ToArray(), Is.Not.Empty.And.All.EqualTo(m.HostName));
    }

    [Test]
    public async Task StartAsync_RecoveringAnInterruptedBuild_RecordsItsDurationAndErrorAsRetry()
    {
        var store = new InMemoryBuildStore();
        var hostName = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var time = new FakeTimeProvider(T0);
        await using (var first = await MeteredHost.StartAsync(store, hostName, time))
        {
            await first.Host.AddBuilder("linux").StartBuildAsync();
            await first.Host.FlushAsync();
        }

        time.Advance(TimeSpan.FromMinutes(3));
        await using var second = await MeteredHost.StartAsync(store, hostName, time);

        var duration = second.Metrics.Of("cicd.pipeline.run.duration").Single();
        Assert.Multiple(() =>
        {
            Assert.That(duration.Value, Is.EqualTo(180));
            Assert.That(duration["cicd.pipeline.name"], Is.EqualTo("linux"));
            Assert.That(duration["cicd.pipeline.result"], Is.EqualTo("error"));
            Assert.That(duration["error.type"], Is.EqualTo("retry"));
        });
        Assert.That(second.Metrics.Of("cicd.pipeline.run.errors").Single()["error.type"], Is.EqualTo("retry"));
    }

    /// <summary>A started host with its own meter factory (so its own meters) and a listener on them.</summary>
    private sealed class MeteredHost : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        private MeteredHost(ServiceProvider provider, string hostName, FakeTimeProvider time)
        {
            _provider = provider;
            HostName = hostName;
            Time = time;
            Metrics = new MetricsCollector(provider.GetRequiredService<IMeterFactory>());
            Host = provider.GetRequiredService<IBuildStatusHost>();
        }

        public IBuildStatusHost Host { get; }

        public MetricsCollector Metrics { get; }

        public FakeTimeProvider Time { get; }

        public string HostName { get; }

        public static async Task<MeteredHost> StartAsync(IBuildStore? store = null, string? hostName = null, FakeTimeProvider? time = null, bool realTime = false)
        {
            hostName ??= "metrics-" + Guid.NewGuid().ToString("N")[..8];
            time ??= new FakeTimeProvider(T0);
            var shared = store ?? new InMemoryBuildStore();
            var services = new ServiceCollection();
            services.AddMetrics();
            if (!realTime)
            {
                services.AddSingleton<TimeProvider>(time);
            }

            services.AddBuildStatus(b => b
                .UseStore(_ => new NonDisposingStore(shared))
                .Configure(o =>
                {
                    o.HostName = hostName;
                    o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
                    o.RetryMaxDelay = TimeSpan.FromMilliseconds(20);
                }));
            var host = new MeteredHost(services.BuildServiceProvider(), hostName, time);
            await host.Host.StartAsync();
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            await _provider.DisposeAsync();
            Metrics.Dispose();
        }
    }
}
