using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Benchmarks;

/// <summary>
/// Micro-benchmarks (BenchmarkDotNet). See docs/BENCHMARKS.md. Examples:
/// <code>
/// dotnet run -c Release --project bench/BuildStatus.Benchmarks -- --filter '*'
/// dotnet run -c Release --project bench/BuildStatus.Benchmarks -- --filter '*StatusMutation*'
/// dotnet run -c Release --project bench/BuildStatus.Benchmarks -- --history-percentiles [builds] [runs]
/// dotnet run -c Release --project bench/BuildStatus.Benchmarks -- --history-filters [builds] [runs] [name filter]
/// dotnet run -c Release --project bench/BuildStatus.Benchmarks -- --history-percentiles-postgres CONNSTRING [builds] [runs]
/// </code>
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--history-percentiles")
        {
            var builds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
            var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10_000;
            var path = HistoryDatabase.EnsureAsync(builds, Console.Out).GetAwaiter().GetResult();
            HistoryPercentilesAsync(b => b.UseSqlite($"Data Source={path}"), builds, runs, "SQLite").GetAwaiter().GetResult();
            return 0;
        }

        if (args.Length > 1 && args[0] == "--history-percentiles-postgres")
        {
            var connectionString = args[1];
            var builds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000_000;
            var runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10_000;
            var schema = HistoryDatabase.EnsurePostgresAsync(connectionString, builds, Console.Out).GetAwaiter().GetResult();
            HistoryPercentilesAsync(b => b.UsePostgres(o => { o.ConnectionString = connectionString; o.Schema = schema; }), builds, runs, "PostgreSQL").GetAwaiter().GetResult();
            return 0;
        }

        if (args.Length > 0 && args[0] == "--history-filters")
        {
            var builds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
            var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000;
            HistoryFilterPercentiles.RunAsync(builds, runs, args.Length > 3 ? args[3] : null).GetAwaiter().GetResult();
            return 0;
        }

        // Short by default (this machine has 2 noisy cores): 1 launch, 3 warm-up and 7 measured iterations.
        // Pass --job default (or any BenchmarkDotNet job flag) for a longer run.
        var config = DefaultConfig.Instance
            .AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(7).WithId("Short7"))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median, StatisticColumn.P95)
            .WithOptions(ConfigOptions.JoinSummary);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }

    /// <summary>
    /// p50/p95/p99 of "the last 50 builds of a builder" on the cached SQLite history (BenchmarkDotNet reports no
    /// p99), through the public API, timed one call at a time with a Stopwatch.
    /// </summary>
    private static async Task HistoryPercentilesAsync(Action<BuildStatusBuilder> useStore, int builds, int runs, string storeName)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b =>
        {
            useStore(b);
            b.Configure(o => o.HostName = "bench");
        });
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();
        await host.StartAsync();
        var samples = new List<double>(runs);
        for (var k = -Math.Min(1000, runs); k < runs; k++)
        {
            var name = HistoryDatabase.BuilderName(Random.Shared.Next(HistoryDatabase.Builders));
            var started = Stopwatch.GetTimestamp();
            var page = await host.History.QueryBuildsAsync(new BuildQuery(name) { Limit = 50 });
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (page.Builds.Count != 50 || page.Builds[0].Number != builds / HistoryDatabase.Builders)
            {
                throw new InvalidOperationException($"{name}: {page.Builds.Count} builds, newest #{page.Builds[0].Number}");
            }

            if (k >= 0)
            {
                samples.Add(ms);
            }
        }

        await host.StopAsync();
        samples.Sort();
        double At(double q) => samples[Math.Clamp((int)Math.Ceiling(q * samples.Count) - 1, 0, samples.Count - 1)];
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{storeName}: last 50 builds, {builds:N0} builds stored, {runs:N0} runs: p50 {At(0.5):0.000} ms  p95 {At(0.95):0.000} ms  p99 {At(0.99):0.000} ms  max {samples[^1]:0.000} ms"));
    }
}
