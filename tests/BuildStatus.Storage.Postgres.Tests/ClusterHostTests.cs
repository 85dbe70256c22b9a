using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// Core end to end on PostgreSQL: several <see cref="IBuildStatusHost"/>s in this process, each with its own store
/// object and pool (as separate machines would have), on one schema, with real time, a 200 ms heartbeat and a 1 s lease.
/// </summary>
public sealed class ClusterHostTests
{
    private const int HeartbeatMs = 200;
    private const int LeaseMs = 1000;
    private static readonly TestDatabase Database = new();
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static string NewSchema() => "h_" + Guid.NewGuid().ToString("N")[..20];

    private static async Task<ServiceProvider> StartHostAsync(string schema, string hostName, TimeSpan? stopTimeout = null, TimeSpan? clockSkew = null)
    {
        var services = new ServiceCollection();
        if (clockSkew is { } skew)
        {
            services.AddSingleton<TimeProvider>(new SkewedClock(skew));
        }

        services.AddBuildStatus(b => b
            .UsePostgres(o =>
            {
                o.ConnectionString = Database.ConnectionString;
                o.Schema = schema;
            })
            .Configure(o =>
            {
                o.HostName = hostName;
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(HeartbeatMs);
                o.LeaseDuration = TimeSpan.FromMilliseconds(LeaseMs);
                o.StopTimeout = stopTimeout ?? o.StopTimeout;
            }));
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IBuildStatusHost>().StartAsync();
        return provider;
    }

    private static IBuildStatusHost Host(IServiceProvider provider) => provider.GetRequiredService<IBuildStatusHost>();

    [Test]
    public async Task BlueGreen_SecondHostWithTheSameName_LeavesTheRunningBuildAlone_ItFinishesNormally()
    {
        var schema = NewSchema();
        await using var blue = await StartHostAsync(schema, "ci");
        var build = await Host(blue).AddBuilder("linux").StartBuildAsync();
        var step = build.AddStep("compile");
        step.Start();
        await step.AddLog("stdio").AppendLineAsync(LogChannel.Stdout, "blue is running");
        await Host(blue).FlushAsync().WaitAsync(Limit);

        await using (var green = await StartHostAsync(schema, "ci"))
        {
            // Five heartbeats of green: each one recovers what is dead, and blue is not.
            await Eventually.ValueAsync(() => Task.FromResult(Host(green).Instances.Count == 2 ? "both" : null), Limit);
            await Task.Delay(5 * HeartbeatMs);
            var stored = await Host(green).History.GetBuildAsync("linux", build.Number);
            Assert.That(stored!.IsFinished, Is.False, "green never touches blue's live build");
            Assert.That(Host(green).Instances.Select(i => i.Id), Is.EquivalentTo(new[] { Host(blue).InstanceId!.Value, Host(green).InstanceId!.Value }));
        }

        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        var finished = await Host(blue).History.GetBuildAsync("linux", build.Number);
        Assert.That((finished!.Result, finished.StateText), Is.EqualTo(((BuildResult?)BuildResult.Success, build.StateText)));
    }

    [Test]
    public async Task HostsWithClocksHoursApart_AgreeOnTheLiveInstances_AndRecoverNothingLive()
    {
        var schema = NewSchema();
        await using var ahead = await StartHostAsync(schema, "ahead", clockSkew: TimeSpan.FromHours(3));
        await using var behind = await StartHostAsync(schema, "behind", clockSkew: TimeSpan.FromHours(-3));
        var build = await Host(behind).AddBuilder("linux").StartBuildAsync();
        await Host(behind).FlushAsync().WaitAsync(Limit);

        // Leases are judged on the server's clock: to the host three hours ahead, the other's lease has not run out.
        var ids = new[] { Host(ahead).InstanceId!.Value, Host(behind).InstanceId!.Value };
        await Eventually.ValueAsync(() => Task.FromResult(Host(ahead).Instances.Count == 2 && Host(behind).Instances.Count == 2 ? "both" : null), Limit);
        await Task.Delay(5 * HeartbeatMs);
        Assert.That(Host(ahead).Instances.Select(i => i.Id), Is.EquivalentTo(ids));
        Assert.That(Host(behind).Instances.Select(i => i.Id), Is.EquivalentTo(ids));
        Assert.That((await Host(ahead).History.GetBuildAsync("linux", build.Number))!.IsFinished, Is.False, "the host ahead never recovers the live build");
        await build.FinishAsync(BuildResult.Success).WaitAsync(Limit);
    }

    [Test]
    public async Task OneHostStopsWithABuildRunning_TheOtherRecoversItOnce_AsRetry()
    {
        var schema = NewSchema();
        await using var survivor = await StartHostAsync(schema, "ci-b");
        var leaving = await StartHostAsync(schema, "ci-a", stopTimeout: TimeSpan.FromMilliseconds(100));
        var build = await Host(leaving).AddBuilder("linux").StartBuildAsync();
        build.AddStep("compile").Start();
        await Host(leaving).FlushAsync().WaitAsync(Limit);
        var leavingId = Host(leaving).InstanceId!.Value;

        // A clean stop whose build outlives StopTimeout: the instance is marked stopped, so it is dead at once.
        await leaving.DisposeAsync();

        var recovered = await Eventually.ValueAsync(async () => await Host(survivor).History.GetBuildAsync("linux", build.Number) is { IsFinished: true } b ? b : null, Limit);
        Assert.That(recovered.Result, Is.EqualTo(BuildResult.Retry));
        Assert.That(recovered.StateText, Does.Contain($"instance {leavingId}").And.Contain("stopped"));
        await Eventually.ValueAsync(() => Task.FromResult(Host(survivor).Instances.Count == 1 ? "one" : null), Limit);
        await using var store = new PostgresBuildStore(Database.Options(schema));
        Assert.That((await store.GetInstancesAsync()).Select(i => i.Id), Does.Not.Contain(leavingId), "recovered once, then no longer listed");
        var steps = await store.GetStepsAsync(new BuildKey("linux", build.Number));
        Assert.That(steps.Single().IsFinished, Is.True, "its open step was closed too");
    }

    [Test]
    public async Task StoredRequest_BothHostsStartIt_ExactlyOneBuildStarts()
    {
        var schema = NewSchema();
        await using var a = await StartHostAsync(schema, "ci-a");
        await using var b = await StartHostAsync(schema, "ci-b");
        Host(b).AddBuilder("linux");
        var submitted = Host(a).AddBuilder("linux").SubmitRequest("push", [new SourceStamp("https://example.org/repo.git", "main", "abc")]);
        await Host(a).FlushAsync().WaitAsync(Limit);

        // Host b learns of the stored request at a heartbeat.
        var seenByB = await Eventually.ValueAsync(() => Task.FromResult(Host(b).FindBuilder("linux")!.PendingRequests.FirstOrDefault(r => r.Id == submitted.Id)), Limit);
        var seenByA = Host(a).FindBuilder("linux")!.PendingRequests.Single(r => r.Id == submitted.Id);

        var starts = new[] { (Host: a, Request: seenByA), (Host: b, Request: seenByB) }
            .Select(x => Task.Run(async () =>
            {
                try
                {
                    var build = await Host(x.Host).FindBuilder("linux")!.StartBuildAsync(new BuildStartInfo { Request = x.Request });
                    await build.FinishAsync(BuildResult.Success);
                    return (int?)build.Number;
                }
                catch (InvalidOperationException)
                {
                    return null;
                }
            }))
            .ToArray();
        var numbers = await Task.WhenAll(starts).WaitAsync(Limit);

        Assert.That(numbers.Count(n => n is not null), Is.EqualTo(1), "exactly one host starts the request");
        await using var store = new PostgresBuildStore(Database.Options(schema));
        var stored = (await store.GetRequestsAsync("linux", null)).Single();
        Assert.That((stored.State, stored.BuildNumber), Is.EqualTo((BuildRequestState.Started, numbers.Single(n => n is not null))));
        Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(1), "no second build");
    }

    /// <summary>The system clock shifted by a fixed skew (its timers run in real time), as on a host whose clock is wrong.</summary>
    private sealed class SkewedClock(TimeSpan skew) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + skew;
    }
}
