using BuildStatus.Events;
using BuildStatus.Hosting;
using BuildStatus.Pipeline;
using BuildStatus.Storage;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Process;

/// <summary>What every process object of one host shares. Immutable after construction.</summary>
internal sealed class HostContext
{
    public HostContext(BuildStatusHost host, BuildStatusOptions options, IBuildStore store, TimeProvider time, EventHub hub, WritePipeline pipeline, BuildStatusMetrics metrics, ILogger logger)
    {
        Host = host;
        Options = options;
        Store = store;
        Time = time;
        Hub = hub;
        Pipeline = pipeline;
        Metrics = metrics;
        Logger = logger;
    }

    public BuildStatusHost Host { get; }

    public BuildStatusOptions Options { get; }

    public IBuildStore Store { get; }

    public TimeProvider Time { get; }

    public EventHub Hub { get; }

    public WritePipeline Pipeline { get; }

    public BuildStatusMetrics Metrics { get; }

    public ILogger Logger { get; }

    /// <summary>
    /// Gets the current time, truncated to the storage precision (<see cref="StorageTime"/>). Every time Core sets
    /// comes from here, so a live object and its stored row hold the same instants.
    /// </summary>
    public DateTimeOffset Now => StorageTime.Truncate(Time.GetUtcNow());

    /// <summary>Throws when the host has stopped: after that nothing can change, because nothing would be stored.</summary>
    /// <param name="target">The object about to change, for the message.</param>
    public void ThrowIfStopped(object target)
    {
        if (Host.IsStopped)
        {
            throw new InvalidOperationException($"Cannot change {target}: the BuildStatus host has stopped, so nothing more can be recorded.");
        }
    }

    /// <summary>Publishes an event made by <paramref name="create"/> only when someone listens.</summary>
    public void Publish<TState>(TState state, Func<TState, DateTimeOffset, StatusEvent> create)
    {
        if (Hub.HasSubscribers)
        {
            Hub.Publish(create(state, Now));
        }
    }
}
