using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Process;

[TestFixture]
public sealed class RecoveryAndEtaTests
{
    [Test]
    public async Task StartAsync_BuildsLeftUnfinished_AreFinishedAsRetry_AndNumberingContinues()
    {
        var store = new InMemoryBuildStore();
        int interrupted;
        await using (var first = await TestHost.StartAsync(store: store))
        {
            var done = await first.Host.AddBuilder("b").StartBuildAsync();
            await done.FinishAsync(BuildResult.Success);
            var (build, _, runningLog) = await TestHost.StartBuildWithLogAsync(first.Host);
            await runningLog.AppendLineAsync(LogChannel.Stdout, "was running");
            await first.Host.FlushAsync();
            interrupted = build.Number;

            // The host goes away without finishing the build.
        }

        // A build of another host on the same store is left alone.
        var otherNumber = await store.CreateBuildAsync(new StoredBuild("b", 0, "other-host", null, [], [], [], null, new Dictionary<string, PropertyValue>(), DateTimeOffset.UnixEpoch, null, "running", null));

        await using var second = await TestHost.StartAsync(store: store);
        var stored = await store.GetBuildAsync(new BuildKey("b", interrupted));
        Assert.That(stored!.Result, Is.EqualTo(BuildResult.Retry));
        Assert.That(stored.StateText, Does.Contain("interrupted"));
        var step = (await store.GetStepsAsync(stored.Key)).Single();
        Assert.That(step.Result, Is.EqualTo(BuildResult.Retry));
        var log = (await store.GetLogsAsync(step.Key)).Single();
        Assert.That(log.IsFinished, Is.True);
        Assert.That(log.LineCount, Is.EqualTo(1));
        Assert.That((await store.GetBuildAsync(new BuildKey("b", otherNumber)))!.IsFinished, Is.False);

        var next = await second.Host.AddBuilder("b").StartBuildAsync();
        Assert.That(next.Number, Is.EqualTo(otherNumber + 1));
        await next.FinishAsync();
    }

    [Test]
    public async Task Eta_ComesFromRecentSuccessfulBuilds()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        await using var t = await TestHost.StartAsync(time: time);
        var builder = t.Host.AddBuilder("b");
        foreach (var minutes in new[] { 10, 20 })
        {
            var build = await builder.StartBuildAsync();
            var step = build.AddStep("compile");
            step.Start();
            time.Advance(TimeSpan.FromMinutes(minutes));
            step.Finish(BuildResult.Success);
            await build.FinishAsync();
        }

        var failed = await builder.StartBuildAsync();
        time.Advance(TimeSpan.FromMinutes(90));
        await failed.FinishAsync(BuildResult.Failure);

        Assert.That(builder.ExpectedDuration, Is.EqualTo(TimeSpan.FromMinutes(15)), "failures do not count");
        var running = await builder.StartBuildAsync();
        Assert.That(running.Eta, Is.EqualTo(running.StartedAt + TimeSpan.FromMinutes(15)));
        var s = running.AddStep("compile");
        s.Start();
        Assert.That(s.Eta, Is.EqualTo(s.StartedAt + TimeSpan.FromMinutes(15)));
        await running.FinishAsync();
        Assert.That(running.Eta, Is.Null);
    }

    [Test]
    public async Task Eta_IsSeededFromStorageOnStart()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        await using (var first = await TestHost.StartAsync(store: store, time: time))
        {
            var build = await first.Host.AddBuilder("b").StartBuildAsync();
            time.Advance(TimeSpan.FromMinutes(7));
            await build.FinishAsync(BuildResult.Success);
        }

        await using var second = await TestHost.StartAsync(store: store, time: time, start: false);
        var builder = second.Host.AddBuilder("b");
        await second.Host.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (builder.ExpectedDuration is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.That(builder.ExpectedDuration, Is.EqualTo(TimeSpan.FromMinutes(7)));
    }
}
