using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Bench;

/// <summary>
/// Cross-host event latency on PostgreSQL: host A runs builds one after another (a step, a log of 50 lines); host B,
/// with its own store and pool on the same schema, watches with <see cref="StatusEventFilter.IncludeOtherHosts"/>.
/// For each build it measures the time from A's <see cref="IBuild.FinishAsync"/> returning (the finish committed) to
/// B receiving that build's <see cref="BuildFinished"/>. Both hosts run in this process, on one clock.
/// Usage: <c>BuildStatus.Bench --cross-host-latency --pg CONNECTION_STRING [--builds N]</c> (parsed by <see cref="WorkloadOptions"/>).
/// </summary>
internal static class CrossHostLatency
{
    public static async Task<int> RunAsync(string connectionString, int builds, TextWriter output)
    {
        var schema = PostgresBench.NewSchema("latency");
        try
        {
            await using var a = await StartAsync(connectionString, schema, "bench-a");
            await using var b = await StartAsync(connectionString, schema, "bench-b");
            var hostA = a.GetRequiredService<IBuildStatusHost>();
            var hostB = b.GetRequiredService<IBuildStatusHost>();
            var committed = new ConcurrentDictionary<int, long>();
            var delivered = new ConcurrentDictionary<int, long>();
            var events = 0L;
            using var stop = new CancellationTokenSource();
            var stream = hostB.WatchAsync(new StatusEventFilter { IncludeOtherHosts = true }, stop.Token);
            var watcher = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in stream)
                    {
                        Interlocked.Increment(ref events);
                        if (e is BuildFinished { IsFromOtherHost: true } f)
                        {
                            delivered[f.Build.Number] = Stopwatch.GetTimestamp();
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // Done.
                }
            });

            var builder = hostA.AddBuilder("latency");
            var total = builds + 20;
            for (var i = 0; i < total; i++)
            {
                var build = await builder.StartBuildAsync();
                var step = build.AddStep("compile");
                step.Start();
                var log = step.AddLog("stdio");
                for (var line = 0; line < 50; line++)
                {
                    await log.AppendLineAsync(LogChannel.Stdout, $"cc -O2 -c src/module{line}.c");
                }

                log.Finish();
                step.Finish(BuildResult.Success);
                await build.FinishAsync();
                committed[build.Number] = Stopwatch.GetTimestamp();
                await Task.Delay(20);
            }

            var deadline = Stopwatch.StartNew();
            while (delivered.Count < total && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(20);
            }

            await stop.CancelAsync();
            await watcher;

            // The first 20 builds warm up the JIT and the pools.
            var latencies = committed.Where(c => c.Key > 20 && delivered.ContainsKey(c.Key))
                .Select(c => Math.Max(0, Stopwatch.GetElapsedTime(c.Value, delivered[c.Key]).TotalMilliseconds))
                .Order()
                .ToList();
            if (latencies.Count == 0)
            {
                output.WriteLine("no BuildFinished event crossed hosts");
                return 1;
            }

            double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"cross-host BuildFinished, commit on A to delivery on B: {latencies.Count} builds, p50 {P(0.50):F2} ms, p90 {P(0.90):F2} ms, p99 {P(0.99):F2} ms, max {latencies[^1]:F2} ms; {events} events received from A; {total - delivered.Count} not delivered"));
            return delivered.Count == total ? 0 : 1;
        }
        finally
        {
            await PostgresBench.DropSchemaAsync(connectionString, schema);
        }
    }

    private static async Task<ServiceProvider> StartAsync(string connectionString, string schema, string hostName)
    {
        var provider = new ServiceCollection()
            .AddBuildStatus(b => b
                .UsePostgres(o =>
                {
                    o.ConnectionString = connectionString;
                    o.Schema = schema;
                })
                .Configure(o => o.HostName = hostName))
            .BuildServiceProvider();
        await provider.GetRequiredService<IBuildStatusHost>().StartAsync();
        return provider;
    }
}
