using BenchmarkDotNet.Attributes;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Benchmarks;

/// <summary>The last 50 builds of a builder from a SQLite history of 1,000,000 builds (100,000 per builder).</summary>
public class HistoryQueryBenchmarks
{
    private ServiceProvider _provider = null!;
    private IBuildStatusHost _host = null!;
    private SqliteBuildStore _store = null!;
    private int _next;

    [Params(1_000_000)]
    public int Builds { get; set; }

    [GlobalSetup]
    public void GlobalSetup()
    {
        var path = HistoryDatabase.EnsureAsync(Builds, Console.Out).GetAwaiter().GetResult();
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseSqlite($"Data Source={path}").Configure(o => o.HostName = "bench"));
        _provider = services.BuildServiceProvider();
        _host = _provider.GetRequiredService<IBuildStatusHost>();
        _host.StartAsync().GetAwaiter().GetResult();
        _store = new SqliteBuildStore(new SqliteStorageOptions { ConnectionString = $"Data Source={path}" });
        _store.InitializeAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        _host.StopAsync().GetAwaiter().GetResult();
        _provider.Dispose();
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>What a user calls: <see cref="IBuildHistory.QueryBuildsAsync"/>.</summary>
    [Benchmark(Baseline = true)]
    public Task<BuildPage> Last50Builds() =>
        _host.History.QueryBuildsAsync(new BuildQuery(HistoryDatabase.BuilderName(_next++ % HistoryDatabase.Builders)) { Limit = 50 });

    /// <summary>The same query on the SPI, without the persistent objects around the rows.</summary>
    [Benchmark]
    public Task<IReadOnlyList<StoredBuild>> Last50BuildsSpi() =>
        _store.QueryBuildsAsync(new BuildQuery(HistoryDatabase.BuilderName(_next++ % HistoryDatabase.Builders)) { Limit = 50 });
}
