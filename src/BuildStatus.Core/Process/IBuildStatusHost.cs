using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>
/// The root process object a CI host drives: it registers builders and workers, owns the write-behind
/// pipeline, and is the live <see cref="IStatus"/>. One instance per host, normally from dependency
/// injection (<c>services.AddBuildStatus(...)</c>).
/// </summary>
/// <remarks>
/// Start it with <see cref="StartAsync"/> (the registered hosted service does this under the Generic Host)
/// before starting builds: start-up initializes storage and recovers builds a previous run left unfinished.
/// Registering builders and workers is allowed before start.
/// </remarks>
public interface IBuildStatusHost : IStatus, IAsyncDisposable
{
    /// <summary>Gets the build history (storage side).</summary>
    IBuildHistory History { get; }

    /// <summary>Gets the adapter between status objects and their persistent counterparts.</summary>
    IStatusAdapter Adapter { get; }

    /// <summary>Gets whether <see cref="StartAsync"/> has completed and the host is not stopped.</summary>
    bool IsRunning { get; }

    /// <summary>
    /// Registers a builder, or updates the description and tags of one already registered with that name.
    /// </summary>
    /// <param name="name">The unique builder name.</param>
    /// <param name="description">An optional description.</param>
    /// <param name="tags">Optional tags.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, white space, longer than 200 characters or holds a control character, or a tag is
    /// (<see cref="ArgumentException.ParamName"/> <c>tags</c>).</exception>
    /// <exception cref="ObjectDisposedException">The host has been disposed.</exception>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    IBuilder AddBuilder(string name, string? description = null, IEnumerable<string>? tags = null);

    /// <summary>Registers a worker, or returns the one already registered with that name.</summary>
    /// <param name="name">The unique worker name.</param>
    /// <returns>The worker.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, white space, longer than 200 characters or holds a control character.</exception>
    /// <exception cref="ObjectDisposedException">The host has been disposed.</exception>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    IWorker AddWorker(string name);

    /// <summary>Returns a registered builder by name, or <see langword="null"/>.</summary>
    /// <param name="name">The builder name.</param>
    /// <returns>The builder, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    IBuilder? FindBuilder(string name);

    /// <summary>Returns a registered worker by name, or <see langword="null"/>.</summary>
    /// <param name="name">The worker name.</param>
    /// <returns>The worker, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    IWorker? FindWorker(string name);

    /// <summary>Starts a build on a registered builder, by name. See <see cref="IBuilder.StartBuildAsync"/>.</summary>
    /// <param name="builderName">The builder's name.</param>
    /// <param name="info">What the build runs; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Abandons the start before the number is allocated.</param>
    /// <returns>The running build.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builderName"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">No builder with that name is registered, or the host is not running.</exception>
    Task<IBuild> StartBuildAsync(string builderName, BuildStartInfo? info = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Initializes storage (schema), recovers builds this host left unfinished (finished as
    /// <see cref="BuildResult.Retry"/>), and starts the writer and the retention janitor. Calling it again
    /// while running does nothing.
    /// </summary>
    /// <param name="cancellationToken">Abandons start-up.</param>
    /// <returns>A task that completes when the host is ready.</returns>
    /// <exception cref="InvalidOperationException">No storage backend is configured, or the host was stopped.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops gracefully, in two phases of up to <see cref="BuildStatusOptions.StopTimeout"/> each (each cut short when
    /// <paramref name="cancellationToken"/> is cancelled). First the host drains: <see cref="StartBuildAsync"/> throws at
    /// once, while running builds may still change and finish. Then it stops: the partial lines of builds still running
    /// are stored as lines, the write queue drains, and the writer and janitor stop. What could not be persisted is
    /// logged with its counts, and every durability task still pending faults with a
    /// <see cref="Storage.BuildStoreException"/>. From then on every mutation throws
    /// <see cref="InvalidOperationException"/>; status stays readable. Calling it again, or concurrently, returns the
    /// same stop.
    /// </summary>
    /// <param name="cancellationToken">Abandons the waits (for running builds, then for the queue).</param>
    /// <returns>A task that completes when the host has stopped.</returns>
    Task StopAsync(CancellationToken cancellationToken = default);

    /// <summary>Completes when every change made before the call is committed to storage.</summary>
    /// <param name="cancellationToken">Stops waiting (the changes stay queued).</param>
    /// <returns>A task that completes when the changes are durable.</returns>
    /// <exception cref="Storage.BuildStoreException">The writer has failed permanently; the inner exception is the cause.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task FlushAsync(CancellationToken cancellationToken = default);
}
