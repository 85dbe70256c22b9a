using System.Diagnostics;
using System.Globalization;
using BuildStatus.CrashWorker;
using BuildStatus.Reliability.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// The multi-host fault schedule with real processes: three host processes (BuildStatus.CrashWorker with
/// <c>--store postgres</c>) on one database of the run's throw-away cluster, each with a 1 s lease and a 200 ms
/// heartbeat. SIGKILL one of three; SIGSTOP one past its lease, then SIGCONT; and a W1-like load on three processes
/// with kills and restarts, checked against what each process acknowledged.
/// </summary>
/// <remarks>
/// The load schedule runs one kill in <c>dotnet test</c>; <c>BUILDSTATUS_PG_FAULTS=full</c> runs eight (each process
/// killed at least twice). Each test prints its figures on a line starting with <c>CLUSTER FIGURES</c>.
/// </remarks>
[NonParallelizable]
public sealed class ClusterProcessTests
{
    private const int LeaseMs = 1000;
    private const int HeartbeatMs = 200;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    private static bool Full => Environment.GetEnvironmentVariable("BUILDSTATUS_PG_FAULTS") == "full";

    private static string[] Pg(string connectionString) => ["--store", "postgres", "--pg", connectionString];

    private static PostgresBuildStore Store(string connectionString) => new(new PostgresStorageOptions { ConnectionString = connectionString, MaxConnections = 2 });

    [Test]
    public async Task Sigkill_OneOfThree_ItsBuildIsRetriedOnce_ItsClaimedRequestIsStartedByExactlyOneOther()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync();
        using var victim = await HeldHostProcess.StartAsync("-", "ci-0", LeaseMs, HeartbeatMs, Pg(cs));
        using var second = await HeldHostProcess.StartAsync("-", "ci-1", LeaseMs, HeartbeatMs, Pg(cs));
        using var third = await HeldHostProcess.StartAsync("-", "ci-2", LeaseMs, HeartbeatMs, Pg(cs));
        var victimInstance = InstanceOf(await victim.SendAsync("instance"));
        await using var store = Store(cs);

        // A stored request the victim claimed, as a start does before it allocates the build's number.
        var request = new StoredBuildRequest((1L << 40) | 1, "held", "queued", [new SourceStamp("https://example.org/repo.git", "main", "abc")], new Dictionary<string, PropertyValue>(StringComparer.Ordinal), 0, DateTimeOffset.UtcNow, BuildRequestState.Pending, null, null);
        await store.ApplyAsync(new WriteBatch { Requests = [request] });
        Assert.That(await store.ClaimRequestAsync(request.Id, victimInstance), Is.True);

        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        var recovered = await Eventually.ValueAsync(async () => await store.GetBuildAsync(new BuildKey("held", victim.BuildNumber)) is { IsFinished: true } b ? b : null, Limit);
        var elapsed = clock.Elapsed;

        Assert.That(recovered.Result, Is.EqualTo(BuildResult.Retry));
        Assert.That(recovered.StateText, Does.Contain($"instance {victimInstance}").And.Contain("lease"));
        var (claimedBy, recoveredAt) = await RecoveryOfAsync(cs, victimInstance);
        Assert.That(claimedBy, Is.AnyOf(InstanceOf(await second.SendAsync("instance")), InstanceOf(await third.SendAsync("instance"))), "recovered by one of the survivors");
        Assert.That(recoveredAt, Is.Not.Null);

        // The request returns to pending; both survivors try to start it, exactly one does.
        await Eventually.ValueAsync(async () => (await store.GetRequestsAsync("held", BuildRequestState.Pending)).FirstOrDefault(r => r.Id == request.Id), Limit);
        var replies = await Task.WhenAll(second.SendAsync($"take {request.Id}"), third.SendAsync($"take {request.Id}"));
        Assert.That(replies.Count(r => r.StartsWith("TOOK ", StringComparison.Ordinal)), Is.EqualTo(1), string.Join(" | ", replies));
        var number = int.Parse(replies.Single(r => r.StartsWith("TOOK ", StringComparison.Ordinal))["TOOK ".Length..], CultureInfo.InvariantCulture);
        var stored = (await store.GetRequestsAsync("held", null)).Single(r => r.Id == request.Id);
        Assert.That((stored.State, stored.BuildNumber), Is.EqualTo((BuildRequestState.Started, (int?)number)));
        Assert.That((await store.GetBuildAsync(new BuildKey("held", number)))!.Result, Is.EqualTo(BuildResult.Success));

        // Exactly once: later heartbeats of both survivors leave the recovered build as it was.
        await Task.Delay(5 * HeartbeatMs);
        var later = await store.GetBuildAsync(new BuildKey("held", victim.BuildNumber));
        Assert.That((later!.FinishedAt, later.StateText), Is.EqualTo((recovered.FinishedAt, recovered.StateText)));
        foreach (var survivor in new[] { second, third })
        {
            Assert.That((await store.GetBuildAsync(new BuildKey("held", survivor.BuildNumber)))!.IsFinished, Is.False, "a live host's build is never recovered");
            Assert.That(await survivor.SendAsync("finish"), Is.EqualTo("FINISHED"));
        }

        TestContext.Out.WriteLine($"CLUSTER FIGURES sigkill 1 of 3: build recovered as Retry {elapsed.TotalMilliseconds:F0} ms after the kill (lease {LeaseMs} ms + heartbeat {HeartbeatMs} ms = {LeaseMs + HeartbeatMs} ms); request released and started by one survivor");
        Assert.That(await second.SendAsync("exit"), Is.EqualTo("EXITED"));
        Assert.That(await third.SendAsync("exit"), Is.EqualTo("EXITED"));
    }

    [Test]
    public async Task Sigstop_OneOfThreePastItsLease_TheOthersRecoverIt_OnSigcontItIsFencedAndReregisters()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync();
        using var zombie = await HeldHostProcess.StartAsync("-", "ci-0", LeaseMs, HeartbeatMs, Pg(cs));
        using var second = await HeldHostProcess.StartAsync("-", "ci-1", LeaseMs, HeartbeatMs, Pg(cs));
        using var third = await HeldHostProcess.StartAsync("-", "ci-2", LeaseMs, HeartbeatMs, Pg(cs));
        var zombieInstance = await zombie.SendAsync("instance");
        await using var store = Store(cs);

        var clock = Stopwatch.StartNew();
        zombie.Signal("STOP");
        var recovered = await Eventually.ValueAsync(async () => await store.GetBuildAsync(new BuildKey("held", zombie.BuildNumber)) is { IsFinished: true } b ? b : null, Limit);
        var elapsed = clock.Elapsed;
        zombie.Signal("CONT");

        Assert.That(recovered.Result, Is.EqualTo(BuildResult.Retry));
        var reply = await zombie.SendAsync("finish");
        Assert.That(reply, Does.StartWith("FINISH-FAILED"), "the resumed process learns its build was lost: its writes are refused");
        var after = await store.GetBuildAsync(new BuildKey("held", zombie.BuildNumber));
        Assert.That((after!.Result, after.StateText, after.FinishedAt), Is.EqualTo((recovered.Result, recovered.StateText, recovered.FinishedAt)), "nothing it writes changes the recovered build");
        var started = await zombie.SendAsync("start");
        Assert.That(started, Does.StartWith("STARTED"), "it re-registered and works again");
        Assert.That(await zombie.SendAsync("instance"), Is.Not.EqualTo(zombieInstance), "as a new instance");
        var number = int.Parse(started["STARTED ".Length..], CultureInfo.InvariantCulture);
        Assert.That((await store.GetBuildAsync(new BuildKey("held", number)))!.Result, Is.EqualTo(BuildResult.Success));
        foreach (var other in new[] { second, third })
        {
            Assert.That(await other.SendAsync("finish"), Is.EqualTo("FINISHED"), "the live hosts' builds were never touched");
        }

        TestContext.Out.WriteLine($"CLUSTER FIGURES sigstop 1 of 3: build recovered as Retry {elapsed.TotalMilliseconds:F0} ms after SIGSTOP; after SIGCONT its write was refused ({reply}) and it re-registered");
    }

    [Test]
    public async Task W1LoadOnThreeProcesses_KillAndRestartOne_EveryAcknowledgedBuildStays_TheKilledOnesBuildsAreRetriedOnce()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync();
        var directory = Path.Combine(Path.GetTempPath(), "bs-pgc-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var workers = new CrashWorkerProcess?[3];
        var names = new string[3];
        var journals = new List<string>();
        var recoveries = new List<double>();
        var retried = 0;
        var rounds = Full ? 8 : 1;
        await using var store = Store(cs);
        try
        {
            void Start(int slot, int round)
            {
                names[slot] = $"w{slot}-r{round}";
                var journal = Path.Combine(directory, names[slot] + ".journal");
                journals.Add(journal);
                workers[slot] = CrashWorkerProcess.Start("-", journal, seed: 100 * round + slot, names[slot], parallel: 2, builds: null, [.. Pg(cs), "--lease-ms", "1000", "--heartbeat-ms", "200"]);
            }

            for (var slot = 0; slot < 3; slot++)
            {
                Start(slot, 0);
            }

            await Task.WhenAll(workers.Select(w => w!.Ready.WaitAsync(Limit)));
            for (var round = 1; round <= rounds; round++)
            {
                var slot = round % 3;
                var victim = names[slot];

                // Kill it while it has builds running.
                await Eventually.ValueAsync(async () =>
                {
                    Assert.That(workers[slot]!.HasExited, Is.False, $"{victim} exited: {workers[slot]!.StdErr}");
                    return (await store.GetUnfinishedBuildsAsync(victim)).Count > 0 ? "running" : null;
                }, Limit);
                var clock = Stopwatch.StartNew();
                await workers[slot]!.KillAsync();
                workers[slot]!.Dispose();
                // Recovered: a survivor claimed its instance, finished its builds and completed the recovery.
                await Eventually.ValueAsync(async () => (await InstanceOfHostAsync(cs, victim)).RecoveredAt is not null ? "recovered" : null, Limit);
                recoveries.Add(clock.Elapsed.TotalMilliseconds);
                var (instance, claimedBy, _) = await InstanceOfHostAsync(cs, victim);
                Assert.That(claimedBy, Is.Not.Null.And.Not.EqualTo(instance), $"{victim}'s instance {instance} was claimed by another");
                Assert.That(await store.GetUnfinishedBuildsAsync(victim), Is.Empty, $"{victim}'s builds are all finished");
                Start(slot, round);
                await workers[slot]!.Ready.WaitAsync(Limit);
            }

            // Let every process run on, then stop them all at once; a fresh host recovers the last three.
            await Task.Delay(TimeSpan.FromSeconds(2));
            foreach (var worker in workers)
            {
                await worker!.KillAsync();
                foreach (var line in worker.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    TestContext.Out.WriteLine("worker stderr: " + line);
                }
            }

            var last = await LastHostsRecoveredByAFreshHostAsync(cs);

            // Every build is finished; every Retry names the one instance that lost it; numbers have no gap.
            long acked = 0, lines = 0;
            foreach (var journal in journals)
            {
                foreach (var line in File.ReadLines(journal))
                {
                    lines += await AssertAcknowledgedAsync(store, AckRecord.FromJson(line));
                    acked++;
                }
            }

            foreach (var builder in await store.GetBuildersAsync())
            {
                var builds = await AllBuildsAsync(store, builder.Name);
                Assert.That(builds.Select(b => b.Number).Order(), Is.EqualTo(Enumerable.Range(1, builds.Count)), $"numbers of {builder.Name} are 1..n without gap or duplicate");
                Assert.That(builds.All(b => b.IsFinished), Is.True, "no build is left unfinished");
                foreach (var build in builds.Where(b => b.Result == BuildResult.Retry))
                {
                    Assert.That(build.StateText, Does.Match("^interrupted: instance [0-9]+ of host 'w[0-2]-r[0-9]+' (lost its lease|stopped) before the build finished$"));
                    retried++;
                }
            }

            Assert.That(acked, Is.GreaterThan(0));
            recoveries.Sort();
            TestContext.Out.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"CLUSTER FIGURES W1 on 3 processes, {rounds} kills: recovery complete after kill p50 {recoveries[recoveries.Count / 2]:F0} ms, max {recoveries[^1]:F0} ms (lease {LeaseMs} + heartbeat {HeartbeatMs} ms); {acked} acknowledged builds ({lines} lines) all intact; {retried} builds retried; final recovery by a fresh host: {last} instances"));
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker?.Dispose();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// <c>pg_ctl restart -m immediate</c> under a W1-like load on three host processes (a 10 s lease, so the outage is
    /// shorter than it): no process stops, every process acknowledges builds again after the restart, and every build
    /// acknowledged before, during or after it is stored whole.
    /// </summary>
    [Test]
    public async Task W1LoadOnThreeProcesses_ServerRestartsImmediately_NoHostStops_EveryAcknowledgedBuildStays()
    {
        var server = await PostgresServer.StartOwnAsync();
        var directory = Path.Combine(Path.GetTempPath(), "bs-pgr-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var workers = new CrashWorkerProcess[3];
        var journals = new string[3];
        try
        {
            var cs = await server.CreateDatabaseAsync();
            await using var store = Store(cs);
            for (var slot = 0; slot < 3; slot++)
            {
                journals[slot] = Path.Combine(directory, $"r{slot}.journal");
                workers[slot] = CrashWorkerProcess.Start("-", journals[slot], seed: 900 + slot, $"r{slot}", parallel: 2, builds: null, [.. Pg(cs), "--lease-ms", "10000", "--heartbeat-ms", "500"]);
            }

            await Task.WhenAll(workers.Select(w => w.Ready.WaitAsync(Limit)));
            int Acked(int slot) => File.Exists(journals[slot]) ? File.ReadLines(journals[slot]).Count() : 0;
            await Eventually.ValueAsync(() => Task.FromResult(Enumerable.Range(0, 3).All(i => Acked(i) >= 3) ? "running" : null), Limit);

            var before = Enumerable.Range(0, 3).Select(Acked).ToArray();
            var clock = Stopwatch.StartNew();
            server.RestartImmediately();
            var restartMs = clock.Elapsed.TotalMilliseconds;

            // Every process goes on: each acknowledges more builds after the restart.
            await Eventually.ValueAsync(() =>
            {
                for (var i = 0; i < 3; i++)
                {
                    Assert.That(workers[i].HasExited, Is.False, $"r{i} stopped: {workers[i].StdErr}");
                }

                return Task.FromResult(Enumerable.Range(0, 3).All(i => Acked(i) >= before[i] + 3) ? "resumed" : null);
            }, Limit);
            var resumedMs = clock.Elapsed.TotalMilliseconds;
            foreach (var worker in workers)
            {
                await worker.KillAsync();
            }

            long acked = 0, lines = 0;
            foreach (var journal in journals)
            {
                foreach (var line in File.ReadLines(journal))
                {
                    lines += await AssertAcknowledgedAsync(store, AckRecord.FromJson(line));
                    acked++;
                }
            }

            TestContext.Out.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"CLUSTER FIGURES server restart under W1 on 3 processes: restart took {restartMs:F0} ms, every process acknowledging again {resumedMs:F0} ms after it began; {acked} acknowledged builds ({lines} lines) all intact"));
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker?.Dispose();
            }

            server.Stop();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static long InstanceOf(string reply) => long.Parse(reply["INSTANCE ".Length..], CultureInfo.InvariantCulture);

    private static async Task<(long? ClaimedBy, long? RecoveredAt)> RecoveryOfAsync(string cs, long instance)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT claimed_by, recovered_at FROM buildstatus.instances WHERE id = $1", connection) { Parameters = { new() { Value = instance } } };
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True, $"instance {instance} exists");
        return (reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1));
    }

    private static async Task<(long Id, long? ClaimedBy, long? RecoveredAt)> InstanceOfHostAsync(string cs, string hostName)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id FROM buildstatus.instances WHERE host_name = $1", connection) { Parameters = { new() { Value = hostName } } };
        var id = (long)(await command.ExecuteScalarAsync())!;
        var (claimedBy, recoveredAt) = await RecoveryOfAsync(cs, id);
        return (id, claimedBy, recoveredAt);
    }

    // A host started after every process is gone recovers all of them at its start; returns how many it recovered.
    private static async Task<int> LastHostsRecoveredByAFreshHostAsync(string cs)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UsePostgres(cs).Configure(o => (o.HostName, o.HeartbeatInterval, o.LeaseDuration) = ("final", TimeSpan.FromMilliseconds(HeartbeatMs), TimeSpan.FromMilliseconds(LeaseMs))));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();
        await using var store = Store(cs);
        var dead = (await store.GetInstancesAsync()).Count;
        await host.StartAsync();

        // Their leases may not have run out yet when it starts: the heartbeats after it recover the rest.
        await Eventually.ValueAsync(async () => (await store.GetInstancesAsync()).Count == 1 ? "only the fresh host" : null, Limit);
        await host.StopAsync();
        return dead;
    }

    private static async Task<List<StoredBuild>> AllBuildsAsync(PostgresBuildStore store, string builder)
    {
        var all = new List<StoredBuild>();
        int? before = null;
        while (true)
        {
            var page = await store.QueryBuildsAsync(new BuildQuery(builder) { BeforeNumber = before, Limit = 500 });
            all.AddRange(page);
            if (page.Count < 500)
            {
                return all;
            }

            before = page[^1].Number;
        }
    }

    // One acknowledged build: finished with its result, every step and log, lines hash-identical. Returns the lines checked.
    private static async Task<long> AssertAcknowledgedAsync(PostgresBuildStore store, AckRecord ack)
    {
        var key = new BuildKey(ack.Builder, ack.Number);
        var build = await store.GetBuildAsync(key);
        Assert.That(build?.Result?.ToString(), Is.EqualTo(ack.Result), $"acknowledged build {key} is stored with its result");
        var steps = await store.GetStepsAsync(key);
        Assert.That(steps.Select(s => (s.Key.StepNumber, s.Name, s.Result?.ToString())), Is.EqualTo(ack.Steps.Select(s => (s.Number, s.Name, (string?)s.Result))), $"steps of {key}");
        long lines = 0;
        foreach (var step in ack.Steps)
        {
            var logs = await store.GetLogsAsync(new StepKey(ack.Builder, ack.Number, step.Number));
            foreach (var expected in step.Logs)
            {
                var stored = logs.Single(l => l.Key.LogNumber == expected.Number);
                var read = await store.ReadLogLinesAsync(stored.Key, 0, int.MaxValue);
                using var hasher = new LineHasher();
                foreach (var line in read)
                {
                    hasher.Add(line.Channel, line.Text);
                }

                Assert.That((hasher.Count, hasher.Finish()), Is.EqualTo((expected.Lines, expected.Sha256)), $"{stored.Key}: every line, unchanged");
                lines += read.Count;
            }
        }

        return lines;
    }

}
