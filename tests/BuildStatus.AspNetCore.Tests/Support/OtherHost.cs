using BuildStatus;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.AspNetCore.Tests.Support;

/// <summary>
/// A second host in this test process on the web sample's SQLite file, with its own store object and
/// <c>ShareEvents</c> on, as a second process on that file would be. Stops and disposes itself when disposed.
/// </summary>
public sealed class OtherHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private OtherHost(ServiceProvider provider)
    {
        _provider = provider;
        Host = provider.GetRequiredService<IBuildStatusHost>();
    }

    public IBuildStatusHost Host { get; }

    /// <summary>Starts a host named <paramref name="hostName"/> on <c>builds.db</c> in <paramref name="directory"/> (a <see cref="WebFactory.Directory"/>).</summary>
    public static async Task<OtherHost> StartAsync(string directory, string hostName)
    {
        var file = Path.Combine(directory, "builds.db");
        var provider = new ServiceCollection()
            .AddBuildStatus(b => b
                .UseSqlite(o => (o.ConnectionString, o.ShareEvents) = ($"Data Source={file}", true))
                .Configure(o => (o.HostName, o.OtherHostsPollInterval) = (hostName, TimeSpan.FromMilliseconds(100))))
            .BuildServiceProvider();
        var host = new OtherHost(provider);
        await host.Host.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        await _provider.DisposeAsync();
    }
}
