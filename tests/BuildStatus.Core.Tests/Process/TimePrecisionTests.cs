using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Process;

/// <summary>Core takes every time at the storage precision (whole microseconds), so live and stored times agree.</summary>
public sealed class TimePrecisionTests
{
    // A clock with every sub-second digit set, down to the tick.
    private static readonly DateTimeOffset OddTime = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    [Test]
    public async Task Times_ClockWithSubMicrosecondTicks_AreWholeMicrosecondsLiveAndEqualStored()
    {
        var time = new FakeTimeProvider(OddTime);
        await using var t = await TestHost.StartAsync(time: time);
        var events = new List<StatusEvent>();
        using var subscription = t.Host.Subscribe(new Fakes.RecordingReceiver((e, _) =>
        {
            lock (events)
            {
                events.Add(e);
            }

            return ValueTask.CompletedTask;
        }));
        var worker = t.Host.AddWorker("w1");
        worker.Connect();
        var builder = t.Host.AddBuilder("b");
        var request = builder.SubmitRequest("push");
        time.Advance(TimeSpan.FromTicks(3));
        var build = await builder.StartBuildAsync(new BuildStartInfo { Request = request });
        time.Advance(TimeSpan.FromTicks(12_345_679));
        var step = build.AddStep("compile");
        step.Start();
        time.Advance(TimeSpan.FromTicks(9_876_543));
        step.Finish(BuildResult.Success);
        time.Advance(TimeSpan.FromTicks(7));
        await build.FinishAsync(BuildResult.Success);
        await t.Host.FlushAsync();

        var stored = await t.Store.GetBuildAsync(new BuildKey("b", build.Number));
        var storedStep = (await t.Store.GetStepsAsync(new BuildKey("b", build.Number))).Single();
        var storedWorker = await t.Store.GetWorkerAsync("w1");
        StatusEvent[] seen;
        lock (events)
        {
            seen = [.. events];
        }

        DateTimeOffset[] live = [build.StartedAt, build.FinishedAt!.Value, step.StartedAt!.Value, step.FinishedAt!.Value, worker.LastSeen!.Value, request.SubmittedAt];
        Assert.Multiple(() =>
        {
            Assert.That(live.Select(v => v.UtcTicks % StorageTime.TicksPerUnit), Is.All.Zero, "every live time is a whole microsecond");
            Assert.That(live.Select(v => v.Offset), Is.All.EqualTo(TimeSpan.Zero));
            Assert.That(seen.Select(e => e.Timestamp.UtcTicks % StorageTime.TicksPerUnit), Is.All.Zero, "event timestamps too");
            Assert.That(build.StartedAt, Is.EqualTo(StorageTime.Truncate(OddTime.AddTicks(3))), "truncated, not rounded");
            Assert.That(stored!.StartedAt.UtcTicks, Is.EqualTo(build.StartedAt.UtcTicks));
            Assert.That(stored.FinishedAt!.Value.UtcTicks, Is.EqualTo(build.FinishedAt!.Value.UtcTicks));
            Assert.That(storedStep.StartedAt!.Value.UtcTicks, Is.EqualTo(step.StartedAt!.Value.UtcTicks));
            Assert.That(storedStep.FinishedAt!.Value.UtcTicks, Is.EqualTo(step.FinishedAt!.Value.UtcTicks));
            Assert.That(storedWorker!.LastSeen!.Value.UtcTicks, Is.EqualTo(worker.LastSeen!.Value.UtcTicks));
        });
    }

    [Test]
    public void StorageTime_UnixMicroseconds_RoundTripAndTruncateTowardsThePast()
    {
        var beforeEpoch = DateTimeOffset.UnixEpoch.AddTicks(-15);
        Assert.Multiple(() =>
        {
            Assert.That(StorageTime.ToUnixMicroseconds(DateTimeOffset.UnixEpoch.AddTicks(19)), Is.EqualTo(1));
            Assert.That(StorageTime.ToUnixMicroseconds(beforeEpoch), Is.EqualTo(-2), "towards the past, not towards zero");
            Assert.That(StorageTime.FromUnixMicroseconds(-2), Is.EqualTo(StorageTime.Truncate(beforeEpoch)));
            Assert.That(StorageTime.FromUnixMicroseconds(StorageTime.ToUnixMicroseconds(DateTimeOffset.MaxValue)), Is.EqualTo(StorageTime.Truncate(DateTimeOffset.MaxValue)));
            Assert.That(StorageTime.FromUnixMicroseconds(StorageTime.ToUnixMicroseconds(DateTimeOffset.MinValue)), Is.EqualTo(DateTimeOffset.MinValue));
            Assert.That(StorageTime.Truncate(OddTime.ToOffset(TimeSpan.FromHours(5))).Offset, Is.EqualTo(TimeSpan.Zero));
            Assert.That(StorageTime.Truncate((DateTimeOffset?)null), Is.Null);
            Assert.That(() => StorageTime.FromUnixMicroseconds(long.MaxValue), Throws.InstanceOf<ArgumentOutOfRangeException>());
        });
    }
}
