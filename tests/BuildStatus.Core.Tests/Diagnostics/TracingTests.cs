using System.Diagnostics;
using BuildStatus.Core.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Diagnostics;

[TestFixture]
public sealed class TracingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task FinishAsync_WithListener_BuildSpanIsServerSpanNamedAfterBuilderWithConventionAttributesAndOwnTimes()
    {
        using var spans = new ActivityCollector();
        var time = new FakeTimeProvider(T0);
        await using var t = await TestHost.StartAsync(time: time);
        var name = ActivityCollector.NewBuilderName();
        var builder = t.Host.AddBuilder(name);
        var worker = t.Host.AddWorker("w-" + name);
        worker.Connect("machine-1");
        var build = await builder.StartBuildAsync(new BuildStartInfo
        {
            Worker = worker,
            SourceStamps =
            [
                new SourceStamp("https://example.org/app.git", "main", "4f2c1e9"),
                new SourceStamp("https://example.org/lib.git", "dev", "0000001", Codebase: "lib"),
            ],
        });
        time.Advance(TimeSpan.FromSeconds(3));
        var compile = build.AddStep("compile");
        compile.Start();
        time.Advance(TimeSpan.FromSeconds(40));
        compile.Finish(BuildResult.Success);
        var test = build.AddStep("test");
        test.Start();
        time.Advance(TimeSpan.FromSeconds(17));
        test.Finish(BuildResult.Failure, "3 tests failed");
        time.Advance(TimeSpan.FromSeconds(1));
        await build.FinishAsync(stateText: "tests failed");

        var span = spans.Build(name, build.Number);
        Assert.Multiple(() =>
        {
            Assert.That(span.DisplayName, Is.EqualTo(name));
            Assert.That(span.OperationName, Is.EqualTo(name));
            Assert.That(span.Kind, Is.EqualTo(ActivityKind.Server));
            Assert.That(span.Source.Name, Is.EqualTo("BuildStatus"));
            Assert.That(span.ParentSpanId, Is.EqualTo(default(ActivitySpanId)), "a build is the root of its own trace");
            Assert.That(span.StartTimeUtc, Is.EqualTo(build.StartedAt.UtcDateTime));
            Assert.That(span.StartTimeUtc, Is.EqualTo(T0.UtcDateTime));
            Assert.That(span.Duration, Is.EqualTo(TimeSpan.FromSeconds(61)));
            Assert.That(span.StartTimeUtc + span.Duration, Is.EqualTo(build.FinishedAt!.Value.UtcDateTime));
            Assert.That(span.GetTagItem("cicd.pipeline.name"), Is.EqualTo(name));
            Assert.That(span.GetTagItem("cicd.pipeline.run.id"), Is.EqualTo(build.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(span.GetTagItem("cicd.pipeline.result"), Is.EqualTo("failure"));
            Assert.That(span.GetTagItem("buildstatus.result"), Is.EqualTo("failure"));
            Assert.That(span.GetTagItem("error.type"), Is.EqualTo("failure"));
            Assert.That(span.GetTagItem("cicd.worker.name"), Is.EqualTo("w-" + name));
            Assert.That(span.GetTagItem("buildstatus.host.name"), Is.EqualTo("test-host"));
            Assert.That(span.GetTagItem("vcs.repository.url.full"), Is.EqualTo("https://example.org/app.git"), "the first source stamp");
            Assert.That(span.GetTagItem("vcs.ref.head.name"), Is.EqualTo("main"));
            Assert.That(span.GetTagItem("vcs.ref.head.type"), Is.EqualTo("branch"));
            Assert.That(span.GetTagItem("vcs.ref.head.revision"), Is.EqualTo("4f2c1e9"));
            Assert.That(span.GetTagItem("buildstatus.recovered"), Is.Null);
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(span.StatusDescription, Is.EqualTo("tests failed"));
        });

        var steps = spans.Children(span);
        Assert.That(steps.Select(s => s.DisplayName), Is.EqualTo(new[] { "compile", "test" }));
        var (compileSpan, testSpan) = (steps[0], steps[1]);
        Assert.Multiple(() =>
        {
            Assert.That(compileSpan.Kind, Is.EqualTo(ActivityKind.Internal));
            Assert.That(compileSpan.TraceId, Is.EqualTo(span.TraceId));
            Assert.That(compileSpan.ParentSpanId, Is.EqualTo(span.SpanId));
            Assert.That(compileSpan.StartTimeUtc, Is.EqualTo(compile.StartedAt!.Value.UtcDateTime));
            Assert.That(compileSpan.Duration, Is.EqualTo(TimeSpan.FromSeconds(40)));
            Assert.That(compileSpan.GetTagItem("cicd.pipeline.task.name"), Is.EqualTo("compile"));
            Assert.That(compileSpan.GetTagItem("cicd.pipeline.task.run.id"), Is.EqualTo("0"));
            Assert.That(compileSpan.GetTagItem("cicd.pipeline.task.run.result"), Is.EqualTo("success"));
            Assert.That(compileSpan.GetTagItem("error.type"), Is.Null);
            Assert.That(compileSpan.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(testSpan.GetTagItem("cicd.pipeline.task.run.id"), Is.EqualTo("1"));
            Assert.That(testSpan.StartTimeUtc, Is.EqualTo(test.StartedAt!.Value.UtcDateTime));
            Assert.That(testSpan.Duration, Is.EqualTo(TimeSpan.FromSeconds(17)));
            Assert.That(testSpan.GetTagItem("cicd.pipeline.task.run.result"), Is.EqualTo("failure"));
            Assert.That(testSpan.GetTagItem("error.type"), Is.EqualTo("failure"));
            Assert.That(testSpan.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(testSpan.StatusDescription, Is.EqualTo("3 tests failed"));
        });
    }

    [Test]
    public async Task StartBuildAsync_WithParentContext_BuildSpanIsItsChildInTheSameTrace()
    {
        using var spans = new ActivityCollector();
        await using var t = await TestHost.StartAsync();
        var name = ActivityCollector.NewBuilderName();
        Assert.That(ActivityContext.TryParse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null, isRemote: true, out var webhook), Is.True);

        var build = await t.Host.AddBuilder(name).StartBuildAsync(new BuildStartInfo { ParentContext = webhook });
        var step = build.AddStep("compile");
        step.Start();
        step.Finish(BuildResult.Success);
        await build.FinishAsync();

        var span = spans.Build(name, build.Number);
        Assert.Multiple(() =>
        {
            Assert.That(span.TraceId.ToHexString(), Is.EqualTo("0af7651916cd43dd8448eb211c80319c"));
            Assert.That(span.ParentSpanId.ToHexString(), Is.EqualTo("b7ad6b7169203331"));
            Assert.That(span.HasRemoteParent, Is.True);
            Assert.That(span.GetTagItem("cicd.pipeline.result"), Is.EqualTo("success"));
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(spans.Children(span).Single().TraceId.ToHexString(), Is.EqualTo("0af7651916cd43dd8448eb211c80319c"));
        });
    }

    [TestCase("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true)]
    [TestCase("not a traceparent", false)]
    [TestCase(null, false)]
    public async Task StartBuildAsync_ParentFromAWebhookHeaderAsInTheReadme_ChildWhenTheHeaderParsesElseRoot(string? traceparent, bool child)
    {
        using var spans = new ActivityCollector();
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder(ActivityCollector.NewBuilderName());
        string? tracestate = null;

        var parent = ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out var context) ? context : (ActivityContext?)null;
        var build = await builder.StartBuildAsync(new BuildStartInfo { Reason = "push", ParentContext = parent });
        await build.FinishAsync();

        var span = spans.Build(builder.Name, build.Number);
        Assert.That(span.ParentSpanId.ToHexString(), Is.EqualTo(child ? "b7ad6b7169203331" : "0000000000000000"));
        Assert.That(span.TraceId.ToHexString() == "0af7651916cd43dd8448eb211c80319c", Is.EqualTo(child));
    }

    [Test]
    public async Task StartBuildAsync_InsideAnAmbientActivity_BuildSpanIsARootAndCurrentIsLeftAlone()
    {
        using var spans = new ActivityCollector();
        await using var t = await TestHost.StartAsync();
        var name = ActivityCollector.NewBuilderName();
        using var ambient = new Activity("host-loop").SetIdFormat(ActivityIdFormat.W3C).Start();

        var build = await t.Host.AddBuilder(name).StartBuildAsync();
        Assert.That(Activity.Current, Is.SameAs(ambient), "after StartBuildAsync");
        var step = build.AddStep("compile");
        step.Start();
        Assert.That(Activity.Current, Is.SameAs(ambient), "after IStep.Start");
        step.Finish(BuildResult.Success);
        Assert.That(Activity.Current, Is.SameAs(ambient), "after IStep.Finish");
        var finished = build.FinishAsync();
        Assert.That(Activity.Current, Is.SameAs(ambient), "after FinishAsync");
        await finished;

        var span = spans.Build(name, build.Number);
        Assert.That(span.TraceId, Is.Not.EqualTo(ambient.TraceId));
        Assert.That(span.ParentSpanId, Is.EqualTo(default(ActivitySpanId)));
        Assert.That(spans.Children(span).Single().ParentSpanId, Is.EqualTo(span.SpanId));
    }

    [TestCase(BuildResult.Success, "success", null, ActivityStatusCode.Unset)]
    [TestCase(BuildResult.Warnings, "success", null, ActivityStatusCode.Unset)]
    [TestCase(BuildResult.Failure, "failure", "failure", ActivityStatusCode.Error)]
    [TestCase(BuildResult.Skipped, "skip", null, ActivityStatusCode.Unset)]
    [TestCase(BuildResult.Exception, "error", "exception", ActivityStatusCode.Error)]
    [TestCase(BuildResult.Retry, "error", "retry", ActivityStatusCode.Error)]
    [TestCase(BuildResult.Cancelled, "cancellation", null, ActivityStatusCode.Unset)]
    public async Task FinishAsync_EachResult_MapsToTheConventionsResultAndErrorType(BuildResult result, string expected, string? errorType, ActivityStatusCode status)
    {
        using var spans = new ActivityCollector();
        await using var t = await TestHost.StartAsync();
        var name = ActivityCollector.NewBuilderName();
        var build = await t.Host.AddBuilder(name).StartBuildAsync();
        var step = build.AddStep("only");
        step.Start();
        step.Finish(result);
        await build.FinishAsync(result);

        var span = spans.Build(name, build.Number);
        var stepSpan = spans.Children(span).Single();
        Assert.Multiple(() =>
        {
            Assert.That(span.GetTagItem("cicd.pipeline.result"), Is.EqualTo(expected));
            Assert.That(span.GetTagItem("buildstatus.result"), Is.EqualTo(result.ToString().ToLowerInvariant()));
            Assert.That(span.GetTagItem("error.type"), Is.EqualTo(errorType));
            Assert.That(span.Status, Is.EqualTo(status));
            Assert.That(stepSpan.GetTagItem("cicd.pipeline.task.run.result"), Is.EqualTo(expected));
            Assert.That(stepSpan.GetTagItem("error.type"), Is.EqualTo(errorType));
            Assert.That(stepSpan.Status, Is.EqualTo(status));
        });
    }

    [Test]
    public async Task FinishAsync_StepNeverStarted_GetsASpanOfNoLengthEndedAsCancelled()
    {
        using var spans = new ActivityCollector();
        var time = new FakeTimeProvider(T0);
        await using var t = await TestHost.StartAsync(time: time);
        var name = ActivityCollector.NewBuilderName();
        var build = await t.Host.AddBuilder(name).StartBuildAsync();
        var running = build.AddStep("running");
        running.Start();
        build.AddStep("queued");
        time.Advance(TimeSpan.FromMinutes(2));
        await build.FinishAsync();

        var span = spans.Build(name, build.Number);
        var children = spans.Children(span);
        Assert.That(children.Select(c => c.DisplayName), Is.EqualTo(new[] { "running", "queued" }));
        Assert.Multiple(() =>
        {
            Assert.That(children[0].Duration, Is.EqualTo(TimeSpan.FromMinutes(2)));
            Assert.That(children[1].StartTimeUtc, Is.EqualTo((T0 + TimeSpan.FromMinutes(2)).UtcDateTime));
            Assert.That(children[1].Duration, Is.LessThanOrEqualTo(TimeSpan.FromTicks(1)), "Activity stores a zero duration as one tick");
            Assert.That(children.Select(c => c.GetTagItem("cicd.pipeline.task.run.result")), Is.All.EqualTo("cancellation"));
            Assert.That(span.StartTimeUtc + span.Duration, Is.EqualTo(children[0].StartTimeUtc + children[0].Duration), "the running step ends with its build");
        });
    }

    [Test]
    public async Task StartAsync_RecoveringAnInterruptedBuild_EmitsItsSpanEndedAsRetryWithTheOpenStep()
    {
        using var spans = new ActivityCollector();
        var time = new FakeTimeProvider(T0);
        var store = new InMemoryBuildStore();
        var name = ActivityCollector.NewBuilderName();
        int number;
        await using (var first = await TestHost.StartAsync(store: store, time: time))
        {
            var build = await first.Host.AddBuilder(name).StartBuildAsync(new BuildStartInfo { SourceStamps = [new SourceStamp("https://example.org/app.git", "main")] });
            var done = build.AddStep("checkout");
            done.Start();
            done.Finish(BuildResult.Success);
            time.Advance(TimeSpan.FromSeconds(5));
            build.AddStep("compile").Start();
            await first.Host.FlushAsync();
            number = build.Number;

            // The host goes away without finishing the build: its span never ends.
        }

        Assert.That(spans.Builds(name), Is.Empty);
        time.Advance(TimeSpan.FromMinutes(10));
        await using var second = await TestHost.StartAsync(store: store, time: time);

        var span = spans.Build(name, number);
        Assert.Multiple(() =>
        {
            Assert.That(span.Kind, Is.EqualTo(ActivityKind.Server));
            Assert.That(span.DisplayName, Is.EqualTo(name));
            Assert.That(span.GetTagItem("cicd.pipeline.result"), Is.EqualTo("error"));
            Assert.That(span.GetTagItem("buildstatus.result"), Is.EqualTo("retry"));
            Assert.That(span.GetTagItem("error.type"), Is.EqualTo("retry"));
            Assert.That(span.GetTagItem("buildstatus.recovered"), Is.EqualTo(true));
            Assert.That(span.GetTagItem("vcs.ref.head.name"), Is.EqualTo("main"));
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(span.StatusDescription, Does.Contain("interrupted"));
            Assert.That(span.StartTimeUtc, Is.EqualTo(T0.UtcDateTime));
            Assert.That(span.Duration, Is.EqualTo(TimeSpan.FromSeconds(5) + TimeSpan.FromMinutes(10)));
        });

        // The checkout step ended in the first run (as a child of the span that never ended); recovery ends the open one.
        var recovered = spans.Children(span).Single();
        Assert.Multiple(() =>
        {
            Assert.That(recovered.DisplayName, Is.EqualTo("compile"));
            Assert.That(recovered.GetTagItem("cicd.pipeline.task.run.id"), Is.EqualTo("1"));
            Assert.That(recovered.GetTagItem("cicd.pipeline.task.run.result"), Is.EqualTo("error"));
            Assert.That(recovered.GetTagItem("error.type"), Is.EqualTo("retry"));
            Assert.That(recovered.StartTimeUtc, Is.EqualTo((T0 + TimeSpan.FromSeconds(5)).UtcDateTime));
            Assert.That(recovered.Duration, Is.EqualTo(TimeSpan.FromMinutes(10)));
        });
    }

    [Test]
    [NonParallelizable] // listeners are process-wide: no other fixture's collector may see the build start
    public async Task FinishAsync_ListenerAttachedAfterTheBuildStarted_EmitsNoOrphanStepSpans()
    {
        Assume.That(BuildStatus.Diagnostics.BuildStatusTelemetry.Source.HasListeners(), Is.False, "a listener of another test is attached");
        await using var t = await TestHost.StartAsync();
        var name = ActivityCollector.NewBuilderName();
        var build = await t.Host.AddBuilder(name).StartBuildAsync();
        using var spans = new ActivityCollector();
        var step = build.AddStep("compile");
        step.Start();
        step.Finish(BuildResult.Success);
        await build.FinishAsync();

        Assert.That(spans.Stopped.Where(a => a.DisplayName == "compile" && a.Parent is null && a.ParentSpanId == default), Is.Empty);
        Assert.That(spans.Builds(name), Is.Empty, "the build started before anyone listened");
    }
}
