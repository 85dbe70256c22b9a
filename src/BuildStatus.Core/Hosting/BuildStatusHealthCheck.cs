using BuildStatus.Pipeline;
using BuildStatus.Process;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BuildStatus;

/// <summary>
/// Reports the health of a BuildStatus host: <see cref="HealthStatus.Unhealthy"/> when storage has failed
/// permanently or the host is not running, <see cref="HealthStatus.Degraded"/> while commits are being
/// retried, the write queue is above 80 % of <see cref="BuildStatusOptions.MaxQueueBytes"/>, or the backend has
/// rejected a batch as invalid since start, else healthy.
/// Register it with <c>services.AddHealthChecks().AddCheck&lt;BuildStatusHealthCheck&gt;("buildstatus")</c>.
/// </summary>
public sealed class BuildStatusHealthCheck : IHealthCheck
{
    private readonly IBuildStatusHost _host;

    /// <summary>Initializes a new instance of the <see cref="BuildStatusHealthCheck"/> class.</summary>
    /// <param name="host">The host to check.</param>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    public BuildStatusHealthCheck(IBuildStatusHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        _host = host;
    }

    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_host is not BuildStatusHost host)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The host is not a BuildStatus host created by AddBuildStatus."));
        }

        var pipeline = host.Pipeline;
        var data = new Dictionary<string, object>
        {
            ["queue_length"] = pipeline.QueueLength,
            ["queue_bytes"] = pipeline.PendingBytes,
            ["retries"] = pipeline.RetryCount,
            ["events_dropped"] = host.Hub.TotalDropped,
            ["quarantined"] = pipeline.Quarantined,
        };
        HealthCheckResult result;
        if (!host.IsRunning)
        {
            result = HealthCheckResult.Unhealthy("The BuildStatus host is not running.", data: data);
        }
        else if (host.Lease is { IsFenced: true })
        {
            result = HealthCheckResult.Unhealthy("This host's instance was fenced (its lease expired and another instance recovered its builds); it is registering a new instance.", data: data);
        }
        else if (pipeline.State == WriterState.Failed)
        {
            result = HealthCheckResult.Unhealthy("Storage has failed; changes are queued and retried.", pipeline.LastError, data);
        }
        else if (pipeline.State == WriterState.Retrying)
        {
            result = HealthCheckResult.Degraded("Storage commits are failing and being retried.", pipeline.LastError, data);
        }
        else if (pipeline.Quarantined > 0)
        {
            result = HealthCheckResult.Degraded($"The storage backend rejected the writes of {pipeline.Quarantined} entities as impossible; they were quarantined and never stored (their keys are in the log).", pipeline.LastError, data);
        }
        else if (pipeline.IsNearBound)
        {
            result = HealthCheckResult.Degraded("The write queue is near its bound; log appends may wait.", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy("Storage is keeping up.", data);
        }

        return Task.FromResult(result);
    }
}
