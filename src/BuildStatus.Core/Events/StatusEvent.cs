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

    /// <summary>Gets the builder the event concerns, or <see langword="null"/> (worker events).</summary>
    public virtual string? BuilderName => null;

    /// <summary>Gets the build number the event concerns, or <see langword="null"/>.</summary>
    public virtual int? BuildNumber => null;
}
