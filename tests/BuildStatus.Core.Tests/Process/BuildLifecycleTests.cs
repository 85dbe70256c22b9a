using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Process;

[TestFixture]
public sealed class BuildLifecycleTests
{
    [Test]
    public async Task StartBuildAsync_NumbersPerBuilder_StartAtOneAndIncrement()
    {
        await using var t = await TestHost.StartAsync();
        var a = t.Host.AddBuilder("a");
        var b = t.Host.AddBuilder("b");

        var a1 = await a.StartBuildAsync();
        var a2 = await a.StartBuildAsync();
        var b1 = await b.StartBuildAsync();

        Assert.That(new[] { a1.Number, a2.Number, b1.Number }, Is.EqualTo(new[] { 1, 2, 1 }));
        Assert.That(a.CurrentBuilds, Is.EqualTo(new[] { a1, a2 }));
        Assert.That(a.State, Is.EqualTo(BuilderState.Building));
        Assert.That(t.Host.CurrentBuilds, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task FinishAsync_WholeBuild_IsReadableLiveAndFromHistory()
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("linux", "Linux build", ["nightly", "x64"]);
        var worker = t.Host.AddWorker("w1");
        worker.Connect("host-1", new Dictionary<string, string> { ["os"] = "linux" });
        var build = await builder.StartBuildAsync(new BuildStartInfo
        {
            Reason = "push",
            SourceStamps = [new SourceStamp("https://git/repo", "main", "abc123", "proj", "cb")],
            Changes = [new BuildChange("abc123", "alice", "fix it")],
            ResponsibleUsers = ["bob"],
            Properties = new Dictionary<string, PropertyValue> { ["os"] = new("linux", "Worker") },
            Worker = worker,
        });
        build.SetProperty("version", "1.2.3");
        var step = build.AddStep("compile");
        step.Start();
        var log = step.AddLog("stdio");
        await log.AppendAsync(LogChannel.Header, "$ make\n");
        await log.AppendAsync(LogChannel.Stdout, "line 1\nline 2\n");
        await log.AppendAsync(LogChannel.Stderr, "warning: x\n");
        step.AddUrl("report", "https://ci/report");
        step.SetStatistic("warnings", 1);
        step.SetStateText("compiled");
        step.Finish(BuildResult.Warnings);
        var test = build.AddStep("test");
        test.Start();
        test.Finish(BuildResult.Success);

        Assert.That(worker.RunningBuilds, Is.EqualTo(new[] { build }));
        await build.FinishAsync();

        Assert.Multiple(() =>
        {
            Assert.That(build.Result, Is.EqualTo(BuildResult.Warnings), "worst of the steps");
            Assert.That(build.IsFinished, Is.True);
            Assert.That(build.ResponsibleUsers, Is.EqualTo(new[] { "bob", "alice" }));
            Assert.That(builder.CurrentBuilds, Is.Empty);
            Assert.That(builder.LastFinishedBuild, Is.SameAs(build));
            Assert.That(builder.State, Is.EqualTo(BuilderState.Idle));
            Assert.That(worker.RunningBuilds, Is.Empty);
            Assert.That(log.LineCount, Is.EqualTo(4));
            Assert.That(log.Tail.Select(l => l.Text), Is.EqualTo(new[] { "$ make", "line 1", "line 2", "warning: x" }));
        });

        var stored = await t.Host.History.GetBuildAsync("linux", build.Number);
        Assert.That(stored, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(stored!.Result, Is.EqualTo(BuildResult.Warnings));
            Assert.That(stored.HostName, Is.EqualTo("test-host"));
            Assert.That(stored.Reason, Is.EqualTo("push"));
            Assert.That(stored.WorkerName, Is.EqualTo("w1"));
            Assert.That(stored.SourceStamps, Is.EqualTo(build.SourceStamps));
            Assert.That(stored.Properties["version"], Is.EqualTo(new PropertyValue("1.2.3", "Build")));
            Assert.That(stored.Properties["os"], Is.EqualTo(new PropertyValue("linux", "Worker")));
        });
        var steps = await stored!.GetStepsAsync();
        Assert.That(steps.Select(s => (s.Name, s.Result)), Is.EqualTo(new[] { ("compile", (BuildResult?)BuildResult.Warnings), ("test", BuildResult.Success) }));
        Assert.That(steps[0].Urls, Is.EqualTo(new[] { new StepUrl("report", "https://ci/report") }));
        Assert.That(steps[0].Statistics["warnings"], Is.EqualTo(1));
        var logs = await steps[0].GetLogsAsync();
        Assert.That(logs, Has.Count.EqualTo(1));
        Assert.That(logs[0].IsFinished, Is.True);
        var lines = await logs[0].ReadLinesAsync();
        Assert.That(lines.Select(l => (l.Number, l.Channel, l.Text)), Is.EqualTo(new[]
        {
            (0L, LogChannel.Header, "$ make"),
            (1L, LogChannel.Stdout, "line 1"),
            (2L, LogChannel.Stdout, "line 2"),
            (3L, LogChannel.Stderr, "warning: x"),
        }));
        var builders = await t.Host.History.GetBuildersAsync();
        Assert.That(builders.Single().Tags, Is.EqualTo(new[] { "nightly", "x64" }));
        var workers = await t.Host.History.GetWorkersAsync();
        Assert.That(workers.Single().Info["os"], Is.EqualTo("linux"));
    }

    [Test]
    public async Task FinishAsync_Twice_ThrowsInvalidOperationNamingTheBuild()
    {
        await using var t = await TestHost.StartAsync();
        var build = await t.Host.AddBuilder("b").StartBuildAsync();
        await build.FinishAsync(BuildResult.Success);

        var ex = Assert.Throws<InvalidOperationException>(() => build.FinishAsync());
        Assert.That(ex!.Message, Does.Contain("build 1 of builder 'b'").And.Contain("finished"));
    }

    [Test]
    public async Task AddStep_AfterFinish_Throws()
    {
        await using var t = await TestHost.StartAsync();
        var build = await t.Host.AddBuilder("b").StartBuildAsync();
        await build.FinishAsync(BuildResult.Success);

        Assert.Throws<InvalidOperationException>(() => build.AddStep("late"));
        Assert.Throws<InvalidOperationException>(() => build.SetStateText("late"));
        Assert.Throws<InvalidOperationException>(() => build.SetProperty("p", "v"));
    }

    [Test]
    public async Task AppendAsync_AfterLogFinished_Throws()
    {
        await using var t = await TestHost.StartAsync();
        var (_, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        log.Finish();

        var ex = Assert.ThrowsAsync<InvalidOperationException>(async () => await log.AppendAsync(LogChannel.Stdout, "x\n"));
        Assert.That(ex!.Message, Does.Contain("log 'stdio'"));
        Assert.Throws<InvalidOperationException>(() => log.Finish());
    }

    [Test]
    public async Task StepStart_Twice_Throws()
    {
        await using var t = await TestHost.StartAsync();
        var build = await t.Host.AddBuilder("b").StartBuildAsync();
        var step = build.AddStep("s");
        step.Start();

        Assert.Throws<InvalidOperationException>(() => step.Start());
        step.Finish(BuildResult.Success);
        Assert.Throws<InvalidOperationException>(() => step.Finish(BuildResult.Success));
        Assert.Throws<InvalidOperationException>(() => step.AddLog("x"));
    }

    [Test]
    public async Task StartBuildAsync_UnknownBuilderName_ThrowsInvalidOperation()
    {
        await using var t = await TestHost.StartAsync();
        t.Host.AddBuilder("known");

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => t.Host.StartBuildAsync("unknown"));
        Assert.That(ex!.Message, Does.Contain("'unknown'").And.Contain("known"));
    }

    [Test]
    public async Task StartBuildAsync_BeforeStart_ThrowsInvalidOperation()
    {
        await using var t = await TestHost.StartAsync(start: false);
        var builder = t.Host.AddBuilder("b");

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => builder.StartBuildAsync());
        Assert.That(ex!.Message, Does.Contain("StartAsync"));
    }

    [Test]
    public async Task FinishAsync_OpenStepsAndLogs_AreFinishedAsCancelled()
    {
        await using var t = await TestHost.StartAsync();
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendAsync(LogChannel.Stdout, "partial without newline");

        await build.FinishAsync(BuildResult.Failure);

        Assert.That(step.Result, Is.EqualTo(BuildResult.Cancelled));
        Assert.That(log.IsFinished, Is.True);
        Assert.That(log.LineCount, Is.EqualTo(1), "the partial line is kept when the log finishes");
        var stored = await t.Store.GetLogAsync(new LogKey("b", build.Number, 0, 0));
        Assert.That(stored!.IsFinished, Is.True);
        Assert.That(stored.LineCount, Is.EqualTo(1));
    }

    [Test]
    public async Task RecentBuilds_AreBoundedPerBuilder_NewestFirst()
    {
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 3);
        var builder = t.Host.AddBuilder("b");
        for (var i = 0; i < 10; i++)
        {
            var build = await builder.StartBuildAsync();
            await build.FinishAsync(BuildResult.Success);
        }

        Assert.That(builder.RecentBuilds.Select(b => b.Number), Is.EqualTo(new[] { 10, 9, 8 }));
        Assert.That(builder.GetBuild(8), Is.Not.Null);
        Assert.That(builder.GetBuild(7), Is.Null, "older builds are only in storage");
        Assert.That(await t.Host.History.GetBuildAsync("b", 1), Is.Not.Null);
    }

    [Test]
    public async Task AddBuilder_InvalidName_ThrowsWithParamName()
    {
        await using var t = await TestHost.StartAsync();

        Assert.That(Assert.Throws<ArgumentNullException>(() => t.Host.AddBuilder(null!))!.ParamName, Is.EqualTo("name"));
        Assert.That(Assert.Throws<ArgumentException>(() => t.Host.AddBuilder("  "))!.ParamName, Is.EqualTo("name"));
        Assert.That(Assert.Throws<ArgumentException>(() => t.Host.AddBuilder(new string('x', 201)))!.ParamName, Is.EqualTo("name"));
        Assert.That(Assert.Throws<ArgumentException>(() => t.Host.AddBuilder("a\nb"))!.ParamName, Is.EqualTo("name"));
    }

    [Test]
    public async Task BuildRequest_StartedBuild_LeavesPendingAndCarriesReason()
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        var request = builder.SubmitRequest("nightly", [new SourceStamp("repo", "main")]);
        var cancelled = builder.SubmitRequest("other");
        Assert.That(builder.PendingRequests, Has.Count.EqualTo(2));
        cancelled.Cancel();

        var build = await builder.StartBuildAsync(new BuildStartInfo { Request = request });

        Assert.That(builder.PendingRequests, Is.Empty);
        Assert.That(request.Build, Is.SameAs(build));
        Assert.That(build.Reason, Is.EqualTo("nightly"));
        Assert.That(build.SourceStamps.Single().Branch, Is.EqualTo("main"));
        Assert.Throws<InvalidOperationException>(() => request.Cancel());
        Assert.ThrowsAsync<InvalidOperationException>(() => builder.StartBuildAsync(new BuildStartInfo { Request = cancelled }));
    }

    [Test]
    public async Task BuilderState_WithWorkers_FollowsConnection()
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        var worker = t.Host.AddWorker("w");
        builder.AttachWorker(worker);
        Assert.That(builder.State, Is.EqualTo(BuilderState.Offline));

        worker.Connect();
        Assert.That(builder.State, Is.EqualTo(BuilderState.Idle));
        worker.Disconnect();
        Assert.That(builder.State, Is.EqualTo(BuilderState.Offline));
    }
}
