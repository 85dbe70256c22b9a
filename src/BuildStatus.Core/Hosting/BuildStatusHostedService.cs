using BuildStatus.Process;
using Microsoft.Extensions.Hosting;

namespace BuildStatus.Hosting;

/// <summary>
/// Starts and stops the host with the Generic Host: recovery, the writer and the janitor. It stops in two steps so the
/// order of registration does not matter: when the application begins to stop (<see cref="StoppingAsync"/>, before any
/// hosted service's <c>StopAsync</c>) the host starts draining (no new builds); once every hosted service has stopped
/// (<see cref="StoppedAsync"/>) it waits for the builds still running and drains the write queue. A CI host's own
/// service that finishes its builds in its <c>StopAsync</c> therefore still has them stored.
/// </summary>
internal sealed class BuildStatusHostedService : IHostedLifecycleService
{
    private readonly IBuildStatusHost _host;

    public BuildStatusHostedService(IBuildStatusHost host)
    {
        _host = host;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => _host.StartAsync(cancellationToken);

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        (_host as BuildStatusHost)?.BeginDraining();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => _host.StopAsync(cancellationToken);
}
