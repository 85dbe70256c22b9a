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
        LinePool = options.ChunkPool ?? NewLinePool(options);
        ChunkPool = store.RetainsChunkMemory ? null : LinePool;
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
    /// Gets the pool of the arrays that hold the lines logs have not yet seen committed (and of the arrays behind
    /// their chunks, <see cref="ChunkPool"/>): rented by appending threads and the writer, returned by the writer.
    /// </summary>
    public System.Buffers.ArrayPool<byte> LinePool { get; }

    /// <summary>
    /// Gets the pool whose arrays back the chunks logs hand to the store, returned once the store is done with them;
    /// <see langword="null"/> unless the store says it keeps no chunk memory (<see cref="IBuildStore.RetainsChunkMemory"/>),
    /// when each chunk has an exact-size array of its own.
    /// </summary>
    public System.Buffers.ArrayPool<byte>? ChunkPool { get; }

    /// <summary>
    /// Gets the current time, truncated to the storage precision (<see cref="StorageTime"/>). Every time Core sets
    /// comes from here, so a live object and its stored row hold the same instants.
    /// </summary>
    public DateTimeOffset Now => StorageTime.Truncate(Time.GetUtcNow());

    // A chunk's array holds at most LogChunkMaxBytes of text plus a '\n' and a channel byte per line (a longer single
    // line is a chunk of its own, not pooled); a log's pending lines grow by doubling, and are pooled up to that size
    // too. The pool keeps at most twice MaxBatchBytes of returned arrays: the chunks of the two batches the writer
    // has in flight (one applied, one prepared). With MaxBatchBytes alone W1 allocated 430 MB per 2,000 builds on a
    // loaded machine (the writer behind, batches full) against 259 MB with more; the shared pool, 478 MB.
    private static Internal.ChunkArrayPool NewLinePool(BuildStatusOptions options) => new(
        (int)Math.Clamp(Math.Max(1L, options.LogChunkMaxBytes) + (2L * Math.Max(1, options.LogChunkMaxLines)), 1, 1024 * 1024),
        2L * Math.Max(1, options.MaxBatchBytes));

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
