namespace BuildStatus;

/// <summary>
/// Converts between live status objects and their persistent counterparts, so code can move between the
/// two worlds without knowing which one an object came from.
/// </summary>
public interface IStatusAdapter
{
    /// <summary>Returns the persistent counterpart of a builder.</summary>
    /// <param name="builder">A builder from this host.</param>
    /// <returns>Its persistent counterpart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="builder"/> does not belong to this host.</exception>
    IPersistentBuilder ToPersistent(IBuilderStatus builder);

    /// <summary>Returns the persistent counterpart of a build.</summary>
    /// <param name="build">A build from this host.</param>
    /// <returns>Its persistent counterpart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="build"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="build"/> does not belong to this host.</exception>
    IPersistentBuild ToPersistent(IBuildStatus build);

    /// <summary>Returns the persistent counterpart of a step.</summary>
    /// <param name="step">A step from this host.</param>
    /// <returns>Its persistent counterpart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="step"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="step"/> does not belong to this host.</exception>
    IPersistentStep ToPersistent(IStepStatus step);

    /// <summary>Returns the persistent counterpart of a log.</summary>
    /// <param name="log">A log from this host.</param>
    /// <returns>Its persistent counterpart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="log"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="log"/> does not belong to this host.</exception>
    IPersistentLog ToPersistent(ILogStatus log);

    /// <summary>Returns the persistent counterpart of a worker.</summary>
    /// <param name="worker">A worker from this host.</param>
    /// <returns>Its persistent counterpart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="worker"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="worker"/> does not belong to this host.</exception>
    IPersistentWorker ToPersistent(IWorkerStatus worker);

    /// <summary>Returns the live builder for a stored one, or <see langword="null"/> when it is not registered.</summary>
    /// <param name="builder">The stored builder.</param>
    /// <returns>The live builder, or <see langword="null"/>.</returns>
    IBuilderStatus? ToStatus(IPersistentBuilder builder);

    /// <summary>Returns the live build for a stored one, or <see langword="null"/> when it is no longer in RAM.</summary>
    /// <param name="build">The stored build.</param>
    /// <returns>The live build, or <see langword="null"/>.</returns>
    IBuildStatus? ToStatus(IPersistentBuild build);

    /// <summary>Returns the live step for a stored one, or <see langword="null"/>.</summary>
    /// <param name="step">The stored step.</param>
    /// <returns>The live step, or <see langword="null"/>.</returns>
    IStepStatus? ToStatus(IPersistentStep step);

    /// <summary>Returns the live log for a stored one, or <see langword="null"/>.</summary>
    /// <param name="log">The stored log.</param>
    /// <returns>The live log, or <see langword="null"/>.</returns>
    ILogStatus? ToStatus(IPersistentLog log);

    /// <summary>Returns the live worker for a stored one, or <see langword="null"/>.</summary>
    /// <param name="worker">The stored worker.</param>
    /// <returns>The live worker, or <see langword="null"/>.</returns>
    IWorkerStatus? ToStatus(IPersistentWorker worker);

    /// <summary>
    /// Converts any status or persistent object to <typeparamref name="T"/>: the object itself when it already
    /// is one, else its counterpart, else <see langword="null"/>.
    /// </summary>
    /// <typeparam name="T">A status (<c>I*Status</c>) or persistent (<c>IPersistent*</c>) interface.</typeparam>
    /// <param name="source">The object to convert.</param>
    /// <returns>The converted object, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    T? Adapt<T>(object source)
        where T : class;

    /// <summary>
    /// Returns a build as <see cref="IBuildStatus"/>: the live object while it is in RAM, else a read-only one
    /// loaded from storage (with its steps, logs and log tails), or <see langword="null"/> when it is not stored.
    /// Code that renders status can so use one interface for past and present builds. A build loaded from storage
    /// that is not finished (another host's) has as <see cref="IBuildStatus.CurrentStep"/> its last started step that
    /// is not finished, and no <see cref="IBuildStatus.Eta"/>.
    /// </summary>
    /// <param name="builderName">The builder name.</param>
    /// <param name="number">The build number.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The build, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builderName"/> is <see langword="null"/>.</exception>
    Task<IBuildStatus?> LoadBuildStatusAsync(string builderName, int number, CancellationToken cancellationToken = default);
}
