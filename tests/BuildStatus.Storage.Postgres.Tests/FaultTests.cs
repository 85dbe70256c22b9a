using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// Faults of a real server. Each test starts a cluster of its own (never the run's shared one, which other fixtures
/// use meanwhile) and removes it afterwards.
/// </summary>
public sealed class FaultTests
{
    private static ServiceProvider CreateHost(string connectionString, string hostName) =>
        new ServiceCollection()
            .AddBuildStatus(b => b
                .UsePostgres(o =>
                {
                    o.ConnectionString = connectionString;
                    o.StartTimeout = TimeSpan.FromSeconds(60);
                })
                .Configure(o =>
                {
                    o.HostName = hostName;
                    o.MaxWriteAttempts = 1000;
                    o.RetryBaseDelay = TimeSpan.FromMilliseconds(20);
                    o.RetryMaxDelay = TimeSpan.FromMilliseconds(500);

                    // One host: no heartbeat during the test, so only the calls under test take connections.
                    o.HeartbeatInterval = TimeSpan.FromMinutes(10);
                    o.LeaseDuration = TimeSpan.FromMinutes(30);
                }))
            .BuildServiceProvider();

    private static string LineText(int build, int line) => $"build {build} line {line}: cc -O2 -c src/module{line % 31}.c";

    /// <summary>
    /// <c>pg_ctl restart -m immediate</c> while three writers run builds with logs: every build whose
    /// <see cref="IBuild.FinishAsync"/> completed is stored whole, the writer retries through the outage, and builds
    /// go on after it.
    /// </summary>
    [Test]
    [CancelAfter(300_000)]
    public async Task ImmediateRestartDuringWrites_NothingAcknowledgedIsLostAndWritesResume()
    {
        var server = await PostgresServer.StartOwnAsync();
        try
        {
            var connectionString = await server.CreateDatabaseAsync();
            await using var provider = CreateHost(connectionString, "fault-host");
            var host = provider.GetRequiredService<IBuildStatusHost>();
            await host.StartAsync();
            host.AddBuilder("linux");
            var health = provider.GetRequiredService<BuildStatusHealthCheck>();

            var acknowledged = new ConcurrentBag<(int Number, int Lines)>();
            var restarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var afterRestart = 0;
            var startFailures = 0;
            var sawRetrying = 0;
            using var stop = new CancellationTokenSource();

            async Task WriterAsync()
            {
                while (!stop.IsCancellationRequested)
                {
                    IBuild build;
                    try
                    {
                        build = await host.StartBuildAsync("linux");
                    }
                    catch (BuildStoreException)
                    {
                        // The number is allocated in the database, so a start fails while it is down; try again.
                        Interlocked.Increment(ref startFailures);
                        await Task.Delay(50);
                        continue;
                    }

                    var step = build.AddStep("compile");
                    step.Start();
                    var log = step.AddLog("stdio");
                    const int Lines = 300;
                    for (var i = 0; i < Lines; i++)
                    {
                        await log.AppendLineAsync(LogChannel.Stdout, LineText(build.Number, i));
                        if (i % 50 == 0)
                        {
                            await Task.Yield();
                        }
                    }

                    log.Finish();
                    step.Finish(BuildResult.Success);
                    await build.FinishAsync(BuildResult.Success);
                    acknowledged.Add((build.Number, Lines));
                    if (restarted.Task.IsCompleted)
                    {
                        Interlocked.Increment(ref afterRestart);
                    }
                }
            }

            // One long build appends throughout, so the writer always has something to commit while the server is down.
            var longBuild = await host.StartBuildAsync("linux");
            var longStep = longBuild.AddStep("tail");
            longStep.Start();
            var longLog = longStep.AddLog("stdio");
            var longLines = 0;
            var appender = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await longLog.AppendLineAsync(LogChannel.Stdout, LineText(longBuild.Number, longLines));
                    longLines++;
                    await Task.Delay(1);
                }
            });

            var writers = Enumerable.Range(0, 3).Select(_ => Task.Run(WriterAsync)).ToList();
            while (acknowledged.Count < 5)
            {
                await Task.Delay(20);
            }

            var watcher = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    if ((await health.CheckHealthAsync(new HealthCheckContext())).Status != HealthStatus.Healthy)
                    {
                        Interlocked.Exchange(ref sawRetrying, 1);
                    }

                    await Task.Delay(10);
                }
            });
            server.RestartImmediately();
            restarted.SetResult();
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (Volatile.Read(ref afterRestart) < 5 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            await stop.CancelAsync();
            await Task.WhenAll(writers);
            await appender;
            await watcher;
            longLog.Finish();
            longStep.Finish(BuildResult.Success);
            await longBuild.FinishAsync(BuildResult.Success);
            acknowledged.Add((longBuild.Number, longLines));
            await host.StopAsync();

            Assert.That(afterRestart, Is.GreaterThanOrEqualTo(5), "builds finished after the restart");
            Assert.That(sawRetrying, Is.EqualTo(1), "the writer's commits failed during the restart and were retried (health left Healthy)");
            await using var store = new PostgresBuildStore(new PostgresStorageOptions { ConnectionString = connectionString });
            using (Assert.EnterMultipleScope())
            {
                foreach (var (number, lines) in acknowledged)
                {
                    var key = new BuildKey("linux", number);
                    var stored = await store.GetBuildAsync(key);
                    Assert.That(stored?.Result, Is.EqualTo(BuildResult.Success), $"build {number} was acknowledged");
                    var read = await store.ReadLogLinesAsync(new LogKey("linux", number, 0, 0), 0, lines + 10);
                    Assert.That(read.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, lines).Select(i => LineText(number, i))), $"the lines of acknowledged build {number}");
                }
            }

            TestContext.Out.WriteLine($"POSTGRES FAULT FIGURES restart: acknowledged {acknowledged.Count} builds, {afterRestart} after the restart, one of {longLines} lines appended throughout; {startFailures} starts failed during it; health left Healthy: {sawRetrying == 1}");
        }
        finally
        {
            server.Stop();
        }
    }

    /// <summary>
    /// A server that refuses new connections (<c>max_connections</c> reached) shows in the health check with a message
    /// that says so, and neither the writer nor a start hangs: writes resume once connections are free again.
    /// </summary>
    [Test]
    [CancelAfter(300_000)]
    public async Task MaxConnectionsReached_HealthSaysSoAndWritesResumeAfterwards()
    {
        var server = await PostgresServer.StartOwnAsync("max_connections = 8\nsuperuser_reserved_connections = 2\n");
        var fillers = new List<NpgsqlConnection>();
        try
        {
            await server.ExecuteAdminAsync("CREATE ROLE ci LOGIN PASSWORD 'ci-password'");
            var admin = await server.CreateDatabaseAsync(owner: "ci");

            // No pooling: every store call opens a connection, as a pool whose idle connections were closed would.
            var connectionString = new NpgsqlConnectionStringBuilder(admin) { Username = "ci", Password = "ci-password", Pooling = false, Timeout = 5 }.ConnectionString;
            await using var provider = CreateHost(connectionString, "crowded-host");
            var host = provider.GetRequiredService<IBuildStatusHost>();
            await host.StartAsync();
            host.AddBuilder("linux");
            var build = await host.StartBuildAsync("linux");

            // The writer idle first: a connection it held while the slots fill would be free again afterwards.
            await host.FlushAsync();

            // Take every connection a non-superuser may have.
            for (var i = 0; i < 20; i++)
            {
                var connection = new NpgsqlConnection(connectionString);
                try
                {
                    await connection.OpenAsync();
                    fillers.Add(connection);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.TooManyConnections)
                {
                    await connection.DisposeAsync();
                    break;
                }
            }

            var finished = build.FinishAsync(BuildResult.Success);
            var health = provider.GetRequiredService<BuildStatusHealthCheck>();
            HealthCheckResult result;
            var deadline = DateTime.UtcNow.AddMinutes(2);
            do
            {
                await Task.Delay(20);
                result = await health.CheckHealthAsync(new HealthCheckContext());
            }
            while (result.Status == HealthStatus.Healthy && DateTime.UtcNow < deadline);

            var starting = new PostgresBuildStore(new PostgresStorageOptions { ConnectionString = connectionString, StartTimeout = TimeSpan.FromSeconds(1) });
            var startError = Assert.ThrowsAsync<BuildStoreException>(() => starting.InitializeAsync().WaitAsync(TimeSpan.FromMinutes(1)));
            await starting.DisposeAsync();

            Assert.Multiple(() =>
            {
                Assert.That(result.Status, Is.Not.EqualTo(HealthStatus.Healthy));
                Assert.That(result.Exception?.Message, Does.Contain("max_connections").And.Contain("127.0.0.1:" + server.Port));
                Assert.That(finished.IsCompleted, Is.False, "the finish waits for storage; it is not lost");
                Assert.That(startError!.Message, Does.Contain("refuses new connections"));
            });

            foreach (var filler in fillers)
            {
                await filler.DisposeAsync();
            }

            TestContext.Out.WriteLine($"POSTGRES FAULT FIGURES max_connections: {fillers.Count} connections taken; health {result.Status}: {result.Exception?.Message}; a start with StartTimeout 1 s failed with: {startError.Message}");
            fillers.Clear();
            await finished.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.That((await health.CheckHealthAsync(new HealthCheckContext())).Status, Is.EqualTo(HealthStatus.Healthy));
            await host.StopAsync();
        }
        finally
        {
            foreach (var filler in fillers)
            {
                await filler.DisposeAsync();
            }

            server.Stop();
        }
    }
}
