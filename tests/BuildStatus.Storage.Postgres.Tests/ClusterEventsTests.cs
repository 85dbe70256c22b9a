using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// Events across hosts on PostgreSQL, end to end: hosts in this process, each with its own store object and pool (as
/// separate machines would have), on one schema; a subscriber on one host opts in to the others' events.
/// </summary>
public sealed class ClusterEventsTests
{
    private static readonly TestDatabase Database = new();
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    private static string NewSchema() => "e_" + Guid.NewGuid().ToString("N")[..20];

    private static async Task<ServiceProvider> StartHostAsync(string connectionString, string schema, string hostName)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b
            .UsePostgres(o =>
            {
                o.ConnectionString = connectionString;
                o.Schema = schema;
                o.StartTimeout = TimeSpan.FromSeconds(60);
            })
            .Configure(o =>
            {
                o.HostName = hostName;
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
                o.LeaseDuration = TimeSpan.FromSeconds(5);
                o.OtherHostsPollInterval = TimeSpan.FromMilliseconds(500);
                o.MaxWriteAttempts = 1000;
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(20);
                o.RetryMaxDelay = TimeSpan.FromMilliseconds(500);
            }));
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IBuildStatusHost>().StartAsync();
        return provider;
    }

    private static IBuildStatusHost Host(IServiceProvider provider) => provider.GetRequiredService<IBuildStatusHost>();

    [Test]
    public async Task ListenConnectionString_WhenSet_TheListenerConnectsWithIt_AndOtherHostsEventsArrive()
    {
        // The README's PgBouncer form: the main connection string for the pool, ListenConnectionString for LISTEN. Here
        // both reach the test server; the listener's own Application Name shows which connection it opened.
        var schema = NewSchema();
        var application = "bs-listen-" + Guid.NewGuid().ToString("N")[..12];
        var listen = new Npgsql.NpgsqlConnectionStringBuilder(Database.ConnectionString) { ApplicationName = application }.ConnectionString;
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b
            .UsePostgres(o =>
            {
                o.ConnectionString = Database.ConnectionString;
                o.ListenConnectionString = listen;
                o.Schema = schema;
                o.StartTimeout = TimeSpan.FromSeconds(60);
            })
            .Configure(o =>
            {
                o.HostName = "host-c";
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
                o.LeaseDuration = TimeSpan.FromSeconds(5);
                o.OtherHostsPollInterval = TimeSpan.FromMilliseconds(500);
            }));
        await using var c = services.BuildServiceProvider();
        await Host(c).StartAsync();
        await using var a = await StartHostAsync(Database.ConnectionString, schema, "host-a");
        var received = new ConcurrentQueue<StatusEvent>();
        using var watch = new CancellationTokenSource();
        var stream = Host(c).WatchAsync(new StatusEventFilter { IncludeOtherHosts = true }, watch.Token);
        var watcher = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in stream)
                {
                    received.Enqueue(e);
                }
            }
            catch (OperationCanceledException)
            {
                // Done.
            }
        });

        await RunBuildAsync(Host(a), "linux", 10);
        await Eventually.TrueAsync(() => received.Any(e => e is BuildFinished { IsFromOtherHost: true, HostName: "host-a" }), "host-a's build finished on c", Limit);
        await using var admin = Npgsql.NpgsqlDataSource.Create(Database.ConnectionString);
        await using var count = admin.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1");
        count.Parameters.Add(new Npgsql.NpgsqlParameter { Value = application });
        long listeners = 0;
        await Eventually.TrueAsync(() => (listeners = (long)count.ExecuteScalar()!) > 0, "a connection opened with ListenConnectionString", Limit);
        await watch.CancelAsync();
        await watcher;

        Assert.That(listeners, Is.EqualTo(1), "one LISTEN connection, from ListenConnectionString");
    }

    private static async Task RunBuildAsync(IBuildStatusHost host, string builder, int lines, Func<int, Task>? afterLine = null)
    {
        var build = await (host.FindBuilder(builder) ?? host.AddBuilder(builder)).StartBuildAsync();
        var step = build.AddStep("compile");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < lines; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"{builder} #{build.Number} line {i}");
            if (afterLine is not null)
            {
                await afterLine(i);
            }
        }

        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync();
    }

    // Per build: the other host's events in arrival order; per log: the lines received.
    private static void CheckBuild(IReadOnlyList<StatusEvent> events, string builder, int number, int lines, string hostName)
    {
        var mine = events.Where(e => e.IsFromOtherHost && e.BuilderName == builder && e.BuildNumber == number).ToList();
        Assert.That(mine.Select(e => e.HostName).Distinct(), Is.EqualTo(new[] { hostName }), $"{builder} #{number}: host name");
        Assert.That(mine.Where(e => e is not LogChunk).Select(e => e.Kind), Is.EqualTo(new[]
        {
            StatusEventKinds.BuildStarted, StatusEventKinds.StepStarted, StatusEventKinds.LogStarted, StatusEventKinds.LogFinished,
            StatusEventKinds.StepFinished, StatusEventKinds.BuildFinished,
        }), $"{builder} #{number}: order kept per build; received: {string.Join(", ", events.Select(e => $"{e.Kind}:{e.BuilderName}#{e.BuildNumber}@{e.HostName}"))}");
        Assert.That(
            mine.OfType<LogChunk>().SelectMany(c => c.Lines).Select(l => l.Text),
            Is.EqualTo(Enumerable.Range(0, lines).Select(i => $"{builder} #{number} line {i}")),
            $"{builder} #{number}: every line once, in order");
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task ThreeHosts_ASubscriberSeesTheOthersBuilds_WithHostNames_InOrder_AndNotItsOwnTwice()
    {
        var schema = NewSchema();
        await using var a = await StartHostAsync(Database.ConnectionString, schema, "host-a");
        await using var b = await StartHostAsync(Database.ConnectionString, schema, "host-b");
        await using var c = await StartHostAsync(Database.ConnectionString, schema, "host-c");
        var received = new ConcurrentQueue<(StatusEvent Event, DateTimeOffset At)>();
        using var watch = new CancellationTokenSource();
        // Subscribed here, before any build starts (WatchAsync subscribes when called).
        var stream = Host(c).WatchAsync(new StatusEventFilter { IncludeOtherHosts = true }, watch.Token);
        var watcher = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in stream)
                {
                    received.Enqueue((e, DateTimeOffset.UtcNow));
                }
            }
            catch (OperationCanceledException)
            {
                // Done.
            }
        });

        await Task.WhenAll(
            Task.Run(async () => { for (var i = 0; i < 5; i++) { await RunBuildAsync(Host(a), "linux", 200); } }),
            Task.Run(async () => { for (var i = 0; i < 5; i++) { await RunBuildAsync(Host(b), "mac", 200); } }),
            RunBuildAsync(Host(c), "windows", 50));
        await Eventually.TrueAsync(() => received.Count(r => r.Event is BuildFinished { IsFromOtherHost: true }) >= 10, "every other host's build finished on c", Limit);
        await watch.CancelAsync();
        await watcher;

        var events = received.Select(r => r.Event).ToList();
        for (var n = 1; n <= 5; n++)
        {
            CheckBuild(events, "linux", n, 200, "host-a");
            CheckBuild(events, "mac", n, 200, "host-b");
        }

        var own = events.Where(e => e.BuilderName == "windows").ToList();
        Assert.That(own.Where(e => e.IsFromOtherHost), Is.Empty, "c's own events come once, locally");
        Assert.That(own.Count(e => e is BuildFinished), Is.EqualTo(1));
        Assert.That(events.OfType<EventsMissed>(), Is.Empty);
        var latencies = received.Where(r => r.Event is BuildFinished { IsFromOtherHost: true }).Select(r => (r.At - r.Event.Timestamp).TotalMilliseconds).Order().ToList();
        TestContext.Out.WriteLine($"CROSS-HOST EVENTS: {events.Count(e => e.IsFromOtherHost)} events from 2 hosts; BuildFinished finish-to-delivery ms min {latencies[0]:F1} median {latencies[latencies.Count / 2]:F1} max {latencies[^1]:F1}");
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task ServerRestartsDuringABuild_NoHostStops_AndTheOtherHostsEventsResumeWithoutAGap()
    {
        var server = await PostgresServer.StartOwnAsync();
        try
        {
            var connectionString = await server.CreateDatabaseAsync();
            var schema = NewSchema();
            await using var a = await StartHostAsync(connectionString, schema, "host-a");
            await using var c = await StartHostAsync(connectionString, schema, "host-c");
            var received = new ConcurrentQueue<StatusEvent>();
            var local = new ConcurrentQueue<StatusEvent>();
            using var watch = new CancellationTokenSource();
            var stream = Host(c).WatchAsync(new StatusEventFilter { IncludeOtherHosts = true }, watch.Token);
            var watcher = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in stream)
                    {
                        (e.IsFromOtherHost ? received : local).Enqueue(e);
                    }
                }
                catch (OperationCanceledException)
                {
                    // Done.
                }
            });
    
            var restarted = false;
            await RunBuildAsync(Host(a), "linux", 400, async i =>
            {
                if (i == 100)
                {
                    await Host(a).FlushAsync();
                    await Eventually.TrueAsync(() => received.OfType<LogChunk>().Any(), "lines before the restart arrived", Limit);
                    server.RestartImmediately();
                    restarted = true;
                }

                if (i == 200)
                {
                    // Status and local events keep working in RAM meanwhile: c's own build runs during the outage.
                    var own = await RunOwnBuildWhileWritesQueueAsync(Host(c));
                    Assert.That(own, Is.True);
                }
            });
            Assert.That(restarted, Is.True);
            await Eventually.TrueAsync(() => received.OfType<BuildFinished>().Any(), "a's build finished arrived on c after the restart", Limit);
            await watch.CancelAsync();
            await watcher;

            CheckBuild([.. received], "linux", 1, 400, "host-a");
            Assert.That(received.OfType<EventsMissed>(), Is.Empty, "no gap: the relay resumed from the last event it delivered");
            Assert.That(local.OfType<BuildFinished>().Count(), Is.EqualTo(1), "c's own build ran and finished in RAM");
        }
        finally
        {
            server.Stop();
        }
    }

    private static async Task<bool> RunOwnBuildWhileWritesQueueAsync(IBuildStatusHost host)
    {
        var builder = host.FindBuilder("own") ?? host.AddBuilder("own");
        IBuild? build = null;
        var deadline = Stopwatch.StartNew();
        while (build is null)
        {
            try
            {
                build = await builder.StartBuildAsync();
            }
            catch (BuildStoreException) when (deadline.Elapsed < Limit)
            {
                // The number is allocated in the database: a start waits for the server to come back.
                await Task.Delay(100);
            }
        }

        var step = build.AddStep("test");
        step.Start();
        await step.AddLog("stdio").AppendLineAsync(LogChannel.Stdout, "own line");
        step.Finish(BuildResult.Success);
        await build.FinishAsync();
        return true;
    }
}
