using BuildStatus.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Support;

/// <summary>A started BuildStatus host on a given store, built through AddBuildStatus as a user would.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private TestHost(ServiceProvider provider, IBuildStore store, FakeTimeProvider? time)
    {
        _provider = provider;
        Store = store;
        Time = time;
        Host = provider.GetRequiredService<IBuildStatusHost>();
    }

    public IBuildStatusHost Host { get; }

    public IBuildStore Store { get; }

    public FakeTimeProvider? Time { get; }

    public IServiceProvider Services => _provider;

    public static async Task<TestHost> StartAsync(Action<BuildStatusOptions>? configure = null, IBuildStore? store = null, FakeTimeProvider? time = null, bool start = true)
    {
        store ??= new InMemoryBuildStore();
        var services = new ServiceCollection();
        if (time is not null)
        {
            services.AddSingleton<TimeProvider>(time);
        }

        var shared = store;
        services.AddBuildStatus(b => b
            .UseStore(_ => new NonDisposingStore(shared))
            .Configure(o =>
            {
                o.HostName = "test-host";
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
                o.RetryMaxDelay = TimeSpan.FromMilliseconds(20);

                // A test that disposes its host with a build still running waits this long for it (draining).
                o.StopTimeout = TimeSpan.FromSeconds(2);
                configure?.Invoke(o);
            }));
        var provider = services.BuildServiceProvider();
        var host = new TestHost(provider, store, time);
        if (start)
        {
            await host.Host.StartAsync();
        }

        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
    }

    public static async Task<(IBuild Build, IStep Step, ILog Log)> StartBuildWithLogAsync(IBuildStatusHost host, string builder = "b")
    {
        var b = host.FindBuilder(builder) ?? host.AddBuilder(builder);
        var build = await b.StartBuildAsync();
        var step = build.AddStep("compile");
        step.Start();
        var log = step.AddLog("stdio");
        return (build, step, log);
    }
}
