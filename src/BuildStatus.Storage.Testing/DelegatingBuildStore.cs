namespace BuildStatus.Storage.Testing;

/// <summary>
/// An <see cref="IBuildStore"/> that forwards every call to an inner store. Derive from it to inject faults,
/// record batches or time calls in tests: override only the members you change. Disposing it (either way) disposes
/// the inner store: synchronously through its <see cref="IDisposable"/> when it has one (as the SPI requires), else by
/// waiting for its <see cref="IAsyncDisposable.DisposeAsync"/>.
/// </summary>
/// <example>
/// <code>
/// sealed class FailingStore(IBuildStore inner) : DelegatingBuildStore(inner)
/// {
///     public override Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
///         => throw new IOException("disk unavailable");
/// }
/// </code>
/// </example>
public abstract class DelegatingBuildStore : IBuildStore, IBuildInstanceStore, IBuildEventFeed, IDisposable
{
    /// <summary>Initializes a new instance of the <see cref="DelegatingBuildStore"/> class.</summary>
    /// <param name="inner">The store that receives the calls.</param>
    /// <exception cref="ArgumentNullException"><paramref name="inner"/> is <see langword="null"/>.</exception>
    protected DelegatingBuildStore(IBuildStore inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>Gets the store that receives the calls.</summary>
    protected IBuildStore Inner { get; }

    /// <inheritdoc/>
    public virtual Task InitializeAsync(CancellationToken cancellationToken = default) => Inner.InitializeAsync(cancellationToken);

    /// <inheritdoc/>
    public virtual Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default) => Inner.ApplyAsync(batch, cancellationToken);

    /// <inheritdoc/>
    public virtual Task PrepareAsync(WriteBatch batch, CancellationToken cancellationToken = default) => Inner.PrepareAsync(batch, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default) => Inner.CreateBuildAsync(build, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) => Inner.GetBuildersAsync(cancellationToken);

    /// <inheritdoc/>
    public virtual Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => Inner.GetBuilderAsync(name, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) => Inner.GetWorkersAsync(cancellationToken);

    /// <inheritdoc/>
    public virtual Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => Inner.GetWorkerAsync(name, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => Inner.GetBuildAsync(key, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => Inner.QueryBuildsAsync(query, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) => Inner.GetStepsAsync(build, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) => Inner.GetLogsAsync(step, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) => Inner.GetLogAsync(log, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default)
        => Inner.ReadLogLinesAsync(log, firstLine, maxLines, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default)
        => Inner.GetUnfinishedBuildsAsync(hostName, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        => Inner.PruneAsync(policy, now, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<PruneResult> PruneWithProgressAsync(RetentionPolicy policy, DateTimeOffset now, IProgress<PruneResult>? progress, CancellationToken cancellationToken = default)
        => Inner.PruneWithProgressAsync(policy, now, progress, cancellationToken);

    /// <summary>Disposes the inner store.</summary>
    /// <returns>A task that completes when the inner store is disposed.</returns>
    /// <summary>Gets whether the wrapped store has instances (<see cref="IBuildInstanceStore"/>); the members below forward to it.</summary>
    public virtual bool SupportsInstances => Inner is IBuildInstanceStore { SupportsInstances: true };

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<StoredInstance> RegisterInstanceAsync(string hostName, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
        => Instances.RegisterInstanceAsync(hostName, now, lease, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
        => Instances.RenewLeaseAsync(instanceId, now, lease, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task StopInstanceAsync(long instanceId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => Instances.StopInstanceAsync(instanceId, now, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<IReadOnlyList<StoredInstance>> GetInstancesAsync(CancellationToken cancellationToken = default)
        => Instances.GetInstancesAsync(cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<IReadOnlyList<StoredInstance>> ClaimDeadInstancesAsync(long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => Instances.ClaimDeadInstancesAsync(claimerId, now, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsOfInstanceAsync(long instanceId, CancellationToken cancellationToken = default)
        => Instances.GetUnfinishedBuildsOfInstanceAsync(instanceId, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task CompleteRecoveryAsync(long instanceId, long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => Instances.CompleteRecoveryAsync(instanceId, claimerId, now, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<bool> ClaimRequestAsync(long requestId, long instanceId, CancellationToken cancellationToken = default)
        => Instances.ClaimRequestAsync(requestId, instanceId, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<int> ReleaseRequestsAsync(long instanceId, CancellationToken cancellationToken = default)
        => Instances.ReleaseRequestsAsync(instanceId, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no instances.</exception>
    public virtual Task<IReadOnlyList<StoredBuildRequest>> GetRequestsAsync(string? builderName, BuildRequestState? state, CancellationToken cancellationToken = default)
        => Instances.GetRequestsAsync(builderName, state, cancellationToken);

    /// <summary>Gets whether the wrapped store has an event feed (<see cref="IBuildEventFeed"/>): Core uses the forwarding members below only then.</summary>
    public virtual bool SupportsEvents => Inner is IBuildEventFeed { SupportsEvents: true };

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no event feed.</exception>
    public virtual Task<long> GetLastEventSequenceAsync(CancellationToken cancellationToken = default)
        => Feed.GetLastEventSequenceAsync(cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no event feed.</exception>
    public virtual Task<StoredEventPage> ReadEventsAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
        => Feed.ReadEventsAsync(afterSequence, maxCount, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The wrapped store has no event feed.</exception>
    public virtual Task<bool> WaitForEventsAsync(long afterSequence, TimeSpan timeout, CancellationToken cancellationToken = default)
        => Feed.WaitForEventsAsync(afterSequence, timeout, cancellationToken);

    private IBuildEventFeed Feed => Inner as IBuildEventFeed
        ?? throw new NotSupportedException($"The wrapped store ({Inner.GetType().Name}) has no event feed (IBuildEventFeed).");

    private IBuildInstanceStore Instances => Inner as IBuildInstanceStore
        ?? throw new NotSupportedException($"The wrapped store ({Inner.GetType().Name}) has no instances (IBuildInstanceStore).");

    /// <inheritdoc/>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Inner.DisposeAsync();
    }

    /// <summary>Disposes the inner store synchronously.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the inner store synchronously; override to release what a derived store holds as well.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        if (Inner is IDisposable disposable)
        {
            disposable.Dispose();
        }
        else
        {
            Inner.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
