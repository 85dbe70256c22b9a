using System.Collections.Concurrent;
using System.Diagnostics;
using BuildStatus.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>Other hosts' events on one SQLite file (<see cref="SqliteStorageOptions.ShareEvents"/>): two hosts, each with its own store object, as two processes would have.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class SharedEventsTests
{
    private static async Task<ServiceProvider> StartAsync(string connectionString, string hostName, bool share)
    {
        var provider = new ServiceCollection()
            .AddBuildStatus(b => b
                .UseSqlite(o => (o.ConnectionString, o.ShareEvents) = (connectionString, share))
                .Configure(o => (o.HostName, o.OtherHostsPollInterval) = (hostName, TimeSpan.FromMilliseconds(50))))
            .BuildServiceProvider();
        await provider.GetRequiredService<IBuildStatusHost>().StartAsync();
        return provider;
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task ShareEvents_TheOtherProcessesBuildArrives_OnlyWhenOn(bool share)
    {
        await using var file = new TestStore();
        await using var a = await StartAsync(file.ConnectionString, "host-a", share);
        await using var b = await StartAsync(file.ConnectionString, "host-b", share);
        var hostA = a.GetRequiredService<IBuildStatusHost>();
        var hostB = b.GetRequiredService<IBuildStatusHost>();
        var received = new ConcurrentQueue<StatusEvent>();
        using var stop = new CancellationTokenSource();
        var stream = hostB.WatchAsync(new StatusEventFilter { IncludeOtherHosts = true }, stop.Token);
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

        var build = await hostA.AddBuilder("linux").StartBuildAsync();
        var step = build.AddStep("compile");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < 20; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync();

        // Host b's own build: once the other host's events would have arrived, its finish proves the relay had time.
        var own = await hostB.AddBuilder("mac").StartBuildAsync();
        await own.FinishAsync();
        var clock = Stopwatch.StartNew();
        while (share ? !received.Any(e => e is BuildFinished { IsFromOtherHost: true }) : clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), "the other host's build did not arrive");
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await watcher;
        var remote = received.Where(e => e.IsFromOtherHost).ToList();
        if (!share)
        {
            Assert.That(remote, Is.Empty, "without ShareEvents nothing crosses processes");
            return;
        }

        Assert.That(remote.Where(e => e is not LogChunk).Select(e => e.Kind), Is.EqualTo(new[]
        {
            StatusEventKinds.BuildStarted, StatusEventKinds.StepStarted, StatusEventKinds.LogStarted, StatusEventKinds.LogFinished,
            StatusEventKinds.StepFinished, StatusEventKinds.BuildFinished,
        }));
        Assert.That(remote.Select(e => e.HostName).Distinct(), Is.EqualTo(new[] { "host-a" }));
        Assert.That(remote.OfType<LogChunk>().SelectMany(c => c.Lines).Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, 20).Select(i => $"line {i}")));
        Assert.That(received.Where(e => e.BuilderName == "mac" && e.IsFromOtherHost), Is.Empty, "a host's own events are not repeated");
    }
}
