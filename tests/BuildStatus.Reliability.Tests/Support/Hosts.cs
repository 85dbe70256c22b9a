using System.Diagnostics.Metrics;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Reliability.Tests.Support;

/// <summary>A host built through AddBuildStatus as a user would, with captured logs and metrics.</summary>
internal sealed class RelHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private RelHost(ServiceProvider provider, CapturingLoggerProvider logs, TestMeterFactory meters)
    {
        _provider = provider;
        Logs = logs;
        Meters = meters;
        Metrics = new MetricsCapture(meters);
        Host = provider.GetRequiredService<IBuildStatusHost>();
    }

    public IBuildStatusHost Host { get; }

    public CapturingLoggerProvider Logs { get; }

    public TestMeterFactory Meters { get; }

    public MetricsCapture Metrics { get; }

    public IServiceProvider Services => _provider;

    public async Task<HealthCheckResult> HealthAsync()
        => await _provider.GetRequiredService<BuildStatusHealthCheck>().CheckHealthAsync(new HealthCheckContext());

    /// <summary>Starts a host on SQLite at <paramref name="dbPath"/>.</summary>
    public static Task<RelHost> SqliteAsync(string dbPath, Action<BuildStatusOptions>? configure = null, Func<IBuildStore, IBuildStore>? wrap = null, Action<SqliteStorageOptions>? sqlite = null, bool start = true)
        => StartAsync(
            () =>
            {
                var options = new SqliteStorageOptions { ConnectionString = $"Data Source={dbPath}" };
                sqlite?.Invoke(options);
                IBuildStore store = new SqliteBuildStore(options);
                return wrap is null ? store : wrap(store);
            },
            configure,
            start);

    /// <summary>Starts a host on the given store factory.</summary>
    public static async Task<RelHost> StartAsync(Func<IBuildStore> store, Action<BuildStatusOptions>? configure = null, bool start = true)
    {
        var logs = new CapturingLoggerProvider();
        var meters = new TestMeterFactory();
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<IMeterFactory>(meters);
        services.AddBuildStatus(b => b
            .UseStore(_ => store())
            .Configure(o =>
            {
                o.HostName = "rel-host";
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(2);
                o.RetryMaxDelay = TimeSpan.FromMilliseconds(50);
                configure?.Invoke(o);
            }));
        var host = new RelHost(services.BuildServiceProvider(), logs, meters);
        if (start)
        {
            await host.Host.StartAsync();
        }

        return host;
    }

    /// <summary>Runs one small build to the end and waits until it is durable: proves the writer is alive.</summary>
    public async Task<IBuild> RunNormalBuildAsync(string builder = "normal", int lines = 10, TimeSpan? timeout = null)
    {
        var b = Host.FindBuilder(builder) ?? Host.AddBuilder(builder);
        var build = await b.StartBuildAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        var step = build.AddStep("compile");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < lines; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, "line " + i);
        }

        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        var stored = await Host.History.GetBuildAsync(builder, build.Number).WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        Assert.That(stored, Is.Not.Null, $"normal build {build.Number} of '{builder}' is stored");
        Assert.That(stored!.Result, Is.EqualTo(BuildResult.Success));
        var steps = await stored.GetStepsAsync();
        var logs = await steps[0].GetLogsAsync();
        var read = await logs[0].ReadLinesAsync();
        Assert.That(read.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, lines).Select(i => "line " + i)));
        return build;
    }

    public async ValueTask DisposeAsync()
    {
        Metrics.Dispose();
        await _provider.DisposeAsync();
        Meters.Dispose();
    }
}
