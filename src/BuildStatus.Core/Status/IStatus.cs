namespace BuildStatus;

/// <summary>
/// The root of live status: everything configured and running in this host, read synchronously from
/// RAM, and the place to subscribe to changes.
/// </summary>
/// <remarks>
/// Every member returns at once and is safe to call from any thread. Lists are snapshots: they do not
/// change after they are returned.
/// </remarks>
public interface IStatus
{
    /// <summary>Gets the stable name of this host, stored with every build it runs.</summary>
    string HostName { get; }

    /// <summary>
    /// Gets the live instances of every host on this history (this one included), as last read from storage (at start
    /// and every <see cref="BuildStatusOptions.HeartbeatInterval"/>); empty with a store without instances.
    /// </summary>
    IReadOnlyList<Storage.StoredInstance> Instances => [];

    /// <summary>Gets this host's current instance id, or <see langword="null"/> before start or with a store without instances.</summary>
    long? InstanceId => null;

    /// <summary>Gets the registered builders, in registration order.</summary>
    IReadOnlyList<IBuilderStatus> Builders { get; }

    /// <summary>Gets the registered workers, in registration order.</summary>
    IReadOnlyList<IWorkerStatus> Workers { get; }

    /// <summary>Gets every build running now, on any builder.</summary>
    IReadOnlyList<IBuildStatus> CurrentBuilds { get; }

    /// <summary>Returns a builder by name, or <see langword="null"/> when none is registered with that name.</summary>
    /// <param name="name">The builder's name.</param>
    /// <returns>The builder, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    IBuilderStatus? GetBuilder(string name);

    /// <summary>Returns a worker by name, or <see langword="null"/> when none is registered with that name.</summary>
    /// <param name="name">The worker's name.</param>
    /// <returns>The worker, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    IWorkerStatus? GetWorker(string name);

    /// <summary>
    /// Subscribes a receiver to status events. Events reach it in order, on its own bounded buffer: a slow,
    /// blocking or throwing receiver never delays builds or other subscribers. When its buffer overflows it
    /// receives a <see cref="EventsMissed"/> event with the number of events it lost.
    /// </summary>
    /// <param name="receiver">The receiver.</param>
    /// <param name="filter">Which events to deliver; <see langword="null"/> for all.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="receiver"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The filter's <see cref="StatusEventFilter.BufferCapacity"/> or
    /// <see cref="StatusEventFilter.BufferBytes"/> is less than 1.</exception>
    /// <exception cref="ObjectDisposedException">The host has been disposed.</exception>
    IStatusSubscription Subscribe(IStatusReceiver receiver, StatusEventFilter? filter = null);

    /// <summary>
    /// Streams status events, in order, until <paramref name="cancellationToken"/> is cancelled (the enumeration then
    /// throws <see cref="OperationCanceledException"/>) or the host is disposed (it then ends normally; a host that has
    /// only stopped publishes nothing more, but its streams stay open until it is disposed).
    /// The subscription starts when this method is called, not at the first <c>MoveNextAsync</c>: every event
    /// published after the call is buffered for the stream, even before its enumeration starts. The stream has its
    /// own bounded buffer; a consumer that falls behind receives an <see cref="EventsMissed"/> event with the number
    /// of events it lost.
    /// </summary>
    /// <remarks>
    /// The stream can be enumerated once. It unsubscribes when its enumeration ends for any reason (cancellation,
    /// breaking out of <c>await foreach</c>, disposing the enumerator) or when the host is disposed; a stream that
    /// is never enumerated stays subscribed, buffering, until <paramref name="cancellationToken"/> is cancelled or
    /// the host is disposed, so call this only when you will enumerate it.
    /// </remarks>
    /// <param name="filter">Which events to deliver; <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The event stream.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The filter's <see cref="StatusEventFilter.BufferCapacity"/> or
    /// <see cref="StatusEventFilter.BufferBytes"/> is less than 1.</exception>
    /// <exception cref="ObjectDisposedException">The host has been disposed.</exception>
    IAsyncEnumerable<StatusEvent> WatchAsync(StatusEventFilter? filter = null, CancellationToken cancellationToken = default);
}
