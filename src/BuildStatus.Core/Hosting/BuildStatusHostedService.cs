using Microsoft.Extensions.Hosting;

namespace BuildStatus.Hosting;

/// <summary>Starts and stops the host with the Generic Host: recovery, the writer and the janitor.</summary>
internal sealed class BuildStatusHostedService : IHostedService
{
    private readonly IBuildStatusHost _host;

    public BuildStatusHostedService(IBuildStatusHost host)
    {
        _host = host;
    }

    public Task StartAsync(CancellationToken cancellationToken) => _host.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _host.StopAsync(cancellationToken);
}
