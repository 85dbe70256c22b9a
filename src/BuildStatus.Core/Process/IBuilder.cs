using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>A builder as the CI host drives it. It is its own <see cref="IBuilderStatus"/>.</summary>
public interface IBuilder : IBuilderStatus
{
    /// <summary>Gets the persistent counterpart of this builder.</summary>
    IPersistentBuilder Persistent { get; }

    /// <summary>
    /// Starts a build: allocates its number in storage (the only status change that waits for storage),
    /// then makes it current and publishes <see cref="BuildStarted"/>.
    /// </summary>
    /// <param name="info">What the build runs; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Abandons the start before the number is allocated.</param>
    /// <returns>The running build.</returns>
    /// <exception cref="InvalidOperationException">The host is not running, or the request in <paramref name="info"/> was cancelled or already started.</exception>
    /// <exception cref="ArgumentException">A value in <paramref name="info"/> is invalid or null: <see cref="ArgumentException.ParamName"/> is always <c>info</c>, and the message names the property.</exception>
    /// <exception cref="Storage.BuildStoreException">Storage could not allocate a number, after retrying a failing backend with backoff up to <see cref="BuildStatusOptions.MaxWriteAttempts"/> times.</exception>
    Task<IBuild> StartBuildAsync(BuildStartInfo? info = null, CancellationToken cancellationToken = default);

    /// <summary>Queues a request for a build; it shows in <see cref="IBuilderStatus.PendingRequests"/> until started or cancelled.</summary>
    /// <param name="reason">Why the build is requested.</param>
    /// <param name="sourceStamps">The source stamps to build, or <see langword="null"/>.</param>
    /// <param name="properties">Initial properties, or <see langword="null"/>.</param>
    /// <param name="priority">Higher first among the pending requests; 0 by default.</param>
    /// <returns>The request.</returns>
    /// <remarks>
    /// With a store that has instances (<see cref="Storage.IBuildInstanceStore"/>: SQLite, PostgreSQL, in-memory) the request is
    /// stored: it survives a crash and a restart, shows in the pending requests of every host on the history (refreshed
    /// every <see cref="BuildStatusOptions.HeartbeatInterval"/>), and <see cref="StartBuildAsync"/> claims it in storage
    /// so that exactly one host starts it; a dead instance's claimed requests return to pending.
    /// </remarks>
    /// <exception cref="ArgumentException">A source stamp or property is null, or a property name is invalid.</exception>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    IBuildRequest SubmitRequest(string? reason = null, IEnumerable<SourceStamp>? sourceStamps = null, IReadOnlyDictionary<string, PropertyValue>? properties = null, int priority = 0);

    /// <summary>Attaches a worker; a builder with attached workers is <see cref="BuilderState.Offline"/> while none of them is connected.</summary>
    /// <param name="worker">The worker.</param>
    /// <exception cref="ArgumentNullException"><paramref name="worker"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    void AttachWorker(IWorkerStatus worker);

    /// <summary>Detaches a worker. Detaching one that is not attached does nothing.</summary>
    /// <param name="worker">The worker.</param>
    /// <exception cref="ArgumentNullException"><paramref name="worker"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    void DetachWorker(IWorkerStatus worker);
}
