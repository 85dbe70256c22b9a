namespace BuildStatus;

/// <summary>
/// A change of live status. Concrete types carry the changed object; match on them
/// (<c>if (e is BuildFinished f) ...</c>) or on <see cref="Kind"/>.
/// </summary>
/// <remarks>
/// The object is the live one (an <see cref="IBuild"/>, <see cref="IStep"/> or <see cref="ILog"/>), except for an
/// event still waiting in a subscriber's buffer when its build leaves RAM (see
/// <see cref="BuildStatusOptions.RecentBuildsPerBuilder"/>): it is delivered with a read-only snapshot of the
/// finished build, its steps and its logs (whose <see cref="ILogStatus.Tail"/> is empty) in place of the live
/// objects, so buffered events never keep a build in memory.
/// </remarks>
public abstract record StatusEvent
{
    /// <summary>Gets the kind of event.</summary>
    public abstract StatusEventKinds Kind { get; }

    /// <summary>Gets when the change happened, from the host's <see cref="TimeProvider"/>.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>
    /// Gets the <see cref="BuildStatusOptions.HostName"/> of the host whose change this is, for an event from another host
    /// sharing this host's storage (delivered only to a subscriber whose filter sets
    /// <see cref="StatusEventFilter.IncludeOtherHosts"/>); <see langword="null"/> for this host's own events.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? HostName { get; init; }

    /// <summary>Gets the instance id of the host whose change this is, for an event from another host; otherwise <see langword="null"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public long? InstanceId { get; init; }

    /// <summary>Gets whether the event comes from another host (<see cref="HostName"/> is set).</summary>
    public bool IsFromOtherHost => HostName is not null;

    /// <summary>Gets the builder the event concerns, or <see langword="null"/> (worker events).</summary>
    public virtual string? BuilderName => null;

    /// <summary>Gets the build number the event concerns, or <see langword="null"/>.</summary>
    public virtual int? BuildNumber => null;
}
