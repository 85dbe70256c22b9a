using Microsoft.Extensions.Logging;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>What every endpoint of one mapped group shares. Immutable after mapping.</summary>
internal sealed class WebContext(
    IBuildStatusHost host,
    BuildStatusWebOptions options,
    EventJournal journal,
    StaticAssets assets,
    TimeProvider time,
    ILogger logger,
    CancellationToken stopping)
{
    public IBuildStatusHost Host { get; } = host;

    public IStatus Status => Host;

    public IBuildHistory History => Host.History;

    public IStatusAdapter Adapter => Host.Adapter;

    public BuildStatusWebOptions Options { get; } = options;

    public EventJournal Journal { get; } = journal;

    public StaticAssets Assets { get; } = assets;

    public TimeProvider Time { get; } = time;

    public ILogger Logger { get; } = logger;

    /// <summary>Gets a token cancelled when the application stops, so that open streams end and do not hold up shutdown.</summary>
    public CancellationToken Stopping { get; } = stopping;
}
