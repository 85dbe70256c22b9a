using System.Diagnostics;
using BuildStatus.Reliability.Tests.Support;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;

namespace BuildStatus.Reliability.Tests;

/// <summary>
/// Several host processes on one SQLite file: blue/green with one host name, SIGKILL, SIGSTOP past the lease, and
/// concurrent starts. The held host is a child process (the worker's <c>--hold</c> mode) with a 1 s lease and a 200 ms
/// heartbeat; the other host runs in the test with the same settings.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class InstanceProcessTests
{
    private const int LeaseMs = 1000;
    private const int HeartbeatMs = 200;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Test]
    public async Task BlueGreen_NewProcessWithTheSameHostName_LeavesTheRunningBuildAlone_ItFinishesNormally()
    {
        using var dir = new TempDir();
        var db = dir.File("builds.db");
        using var blue = await HeldHostProcess.StartAsync(db, "ci", LeaseMs, HeartbeatMs);

        await using (var green = await RelHost.SqliteAsync(db, Settings("ci")))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5 * HeartbeatMs));
            Assert.That((await ReadBuildAsync(db, blue.BuildNumber))!.IsFinished, Is.False, "green leaves blue's running build alone");
            Assert.That(green.Host.Instances, Has.Count.EqualTo(2), "both instances are live");
            Assert.That(await blue.SendAsync("finish"), Is.EqualTo("FINISHED"));
        }

        var stored = await ReadBuildAsync(db, blue.BuildNumber);
        Assert.That((stored!.Result, stored.StateText), Is.EqualTo((BuildResult.Success, "finished by the held host")));
        Assert.That(await blue.SendAsync("exit"), Is.EqualTo("EXITED"));
    }

    [Test]
    public async Task Sigkill_TheSurvivorRecoversTheBuild_AndTheClaimedRequestReturnsToPending()
    {
        using var dir = new TempDir();
        var db = dir.File("builds.db");
        using var victim = await HeldHostProcess.StartAsync(db, "ci", LeaseMs, HeartbeatMs);
        await using var survivor = await RelHost.SqliteAsync(db, Settings("ci"));
        var request = survivor.Host.FindBuilder("held")!.SubmitRequest("queued");
        await survivor.Host.FlushAsync();
        var victimInstance = long.Parse((await victim.SendAsync("instance"))["INSTANCE ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        await using (var store = new SqliteBuildStore(new SqliteStorageOptions { ConnectionString = $"Data Source={db}" }))
        {
            Assert.That(await store.ClaimRequestAsync(request.Id, victimInstance), Is.True, "the victim claims the request, as a start does before its number");
        }

        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        var recovered = await WaitForAsync(async () => await ReadBuildAsync(db, victim.BuildNumber) is { IsFinished: true } b ? b : null);
        var elapsed = clock.Elapsed;
        TestContext.Out.WriteLine($"INSTANCE FIGURES sigkill: recovered as {recovered.Result} {elapsed.TotalMilliseconds:F0} ms after the kill (lease {LeaseMs} ms, heartbeat {HeartbeatMs} ms)");

        Assert.That(recovered.Result, Is.EqualTo(BuildResult.Retry));
        Assert.That(recovered.StateText, Does.Contain($"instance {victimInstance}"));
        var pending = await WaitForAsync(() => Task.FromResult(survivor.Host.FindBuilder("held")!.PendingRequests.FirstOrDefault(r => r.Id == request.Id)));
        var build = await survivor.Host.FindBuilder("held")!.StartBuildAsync(new BuildStartInfo { Request = pending });
        await build.FinishAsync();
        Assert.That((await survivor.Host.History.GetRequestsAsync("held")).Single().State, Is.EqualTo(BuildRequestState.Started));
    }

    [Test]
    public async Task Sigstop_PastTheLease_TheOtherRecovers_TheResumedProcessIsFencedAndReregisters()
    {
        using var dir = new TempDir();
        var db = dir.File("builds.db");
        using var zombie = await HeldHostProcess.StartAsync(db, "ci", LeaseMs, HeartbeatMs);
        var zombieInstance = await zombie.SendAsync("instance");
        await using var survivor = await RelHost.SqliteAsync(db, Settings("ci"));

        zombie.Signal("STOP");
        var recovered = await WaitForAsync(async () => await ReadBuildAsync(db, zombie.BuildNumber) is { IsFinished: true } b ? b : null);
        zombie.Signal("CONT");

        Assert.That(recovered.Result, Is.EqualTo(BuildResult.Retry));
        var reply = await zombie.SendAsync("finish");
        Assert.That(reply, Does.StartWith("FINISH-FAILED"), "the resumed process learns its build was lost");
        var after = await ReadBuildAsync(db, zombie.BuildNumber);
        Assert.That((after!.Result, after.StateText), Is.EqualTo((recovered.Result, recovered.StateText)), "nothing it writes changes the recovered build");
        var started = await zombie.SendAsync("start");
        Assert.That(started, Does.StartWith("STARTED"), "it re-registered and works again");
        Assert.That(await zombie.SendAsync("instance"), Is.Not.EqualTo(zombieInstance), "as a new instance");
        var number = int.Parse(started["STARTED ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That((await ReadBuildAsync(db, number))!.Result, Is.EqualTo(BuildResult.Success));
    }

    [Test]
    public async Task TwoProcessesStartingBuildsAtOnce_NumbersAreUniqueAndContiguous()
    {
        using var dir = new TempDir();
        var db = dir.File("builds.db");
        using var a = CrashWorkerProcess.Start(db, dir.File("a.journal"), 1, "host-a", parallel: 3, builds: 40);
        using var b = CrashWorkerProcess.Start(db, dir.File("b.journal"), 2, "host-b", parallel: 3, builds: 40);
        await Task.WhenAll(a.WaitForExitAsync(TimeSpan.FromMinutes(5)), b.WaitForExitAsync(TimeSpan.FromMinutes(5)));

        Assert.That((a.ExitCode, b.ExitCode), Is.EqualTo((0, 0)), a.StdErr + b.StdErr);
        DbVerifier.AssertNumbersContiguous(db);
        Assert.That(DbVerifier.MaxBuildId(db), Is.EqualTo(80), "every start made one build");
    }

    private static Action<BuildStatusOptions> Settings(string hostName) => o =>
    {
        o.HostName = hostName;
        o.HeartbeatInterval = TimeSpan.FromMilliseconds(HeartbeatMs);
        o.LeaseDuration = TimeSpan.FromMilliseconds(LeaseMs);
    };

    private static async Task<StoredBuild?> ReadBuildAsync(string db, int number)
    {
        await using var store = new SqliteBuildStore(new SqliteStorageOptions { ConnectionString = $"Data Source={db}" });
        return await store.GetBuildAsync(new BuildKey("held", number));
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe)
        where T : class
    {
        var deadline = DateTime.UtcNow + Limit;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "not reached in time");
            await Task.Delay(50);
        }
    }
}
