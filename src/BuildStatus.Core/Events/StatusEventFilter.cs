namespace BuildStatus;

/// <summary>Which events a subscriber receives. All conditions must hold. The default filter passes everything.</summary>
public sealed record StatusEventFilter
{
    /// <summary>Gets the builders to watch, or <see langword="null"/> for all. Worker events pass only when this is <see langword="null"/>.</summary>
    public IReadOnlySet<string>? Builders { get; init; }

    /// <summary>Gets the build number to watch (with a single entry in <see cref="Builders"/>), or <see langword="null"/> for all.</summary>
    public int? BuildNumber { get; init; }

    /// <summary>Gets the kinds to deliver. The default is <see cref="StatusEventKinds.All"/>.</summary>
    public StatusEventKinds Kinds { get; init; } = StatusEventKinds.All;

    /// <summary>
    /// Gets a further condition an event must meet, or <see langword="null"/> for none; checked after the others,
    /// before the event is buffered, so an event it refuses costs the subscriber no buffer space. The default is
    /// <see langword="null"/>.
    /// </summary>
    /// <remarks>
    /// It runs on the thread that publishes the event, possibly while that build's lock is held, for every event
    /// that passes the other conditions: it must be fast, must not block or take locks, and should not throw (an
    /// exception drops the event for this subscriber only, and is logged). Its answer may change over time (a
    /// receiver that wants some kind only now and then): an event is judged once, when it is published.
    /// </remarks>
    public Func<StatusEvent, bool>? Condition { get; init; }

    /// <summary>
    /// Gets this subscriber's buffer capacity in events, or <see langword="null"/> for
    /// <see cref="BuildStatusOptions.SubscriberBufferCapacity"/>; at least 1. The default is <see langword="null"/>.
    /// </summary>
    public int? BufferCapacity { get; init; }

    /// <summary>
    /// Gets this subscriber's buffer bound in bytes of log text, or <see langword="null"/> for
    /// <see cref="BuildStatusOptions.SubscriberBufferBytes"/>; at least 1. The default is <see langword="null"/>.
    /// </summary>
    public long? BufferBytes { get; init; }

    /// <summary>
    /// Gets whether the subscriber also receives the events of other hosts that share this host's storage (a store with
    /// an event feed, such as PostgreSQL; see <see cref="Storage.IBuildEventFeed"/>), each with its
    /// <see cref="StatusEvent.HostName"/>: build, step and log events, as their batches commit on the other host, in
    /// order per build. The other conditions of the filter apply to them too. With a store without an event feed there
    /// are none. The default is <see langword="false"/>: only this host's events.
    /// </summary>
    public bool IncludeOtherHosts { get; init; }

    /// <summary>Returns a filter for one builder's events.</summary>
    /// <param name="builderName">The builder.</param>
    /// <returns>The filter.</returns>
    public static StatusEventFilter ForBuilder(string builderName)
    {
        ArgumentException.ThrowIfNullOrEmpty(builderName);
        return new StatusEventFilter { Builders = new HashSet<string>(StringComparer.Ordinal) { builderName } };
    }

    /// <summary>Returns a filter for one build's events.</summary>
    /// <param name="builderName">The builder.</param>
    /// <param name="buildNumber">The build number.</param>
    /// <returns>The filter.</returns>
    public static StatusEventFilter ForBuild(string builderName, int buildNumber)
        => ForBuilder(builderName) with { BuildNumber = buildNumber };

    /// <summary>Whether an event passes this filter.</summary>
    /// <param name="statusEvent">The event.</param>
    /// <returns><see langword="true"/> when it should be delivered.</returns>
    public bool Matches(StatusEvent statusEvent)
    {
        ArgumentNullException.ThrowIfNull(statusEvent);
        if (statusEvent.HostName is not null && !IncludeOtherHosts)
        {
            return false;
        }

        if (statusEvent is EventsMissed)
        {
            return true;
        }

        if ((Kinds & statusEvent.Kind) == 0)
        {
            return false;
        }

        if (Builders is not null && (statusEvent.BuilderName is null || !Builders.Contains(statusEvent.BuilderName)))
        {
            return false;
        }

        return (BuildNumber is null || statusEvent.BuildNumber == BuildNumber)
            && (Condition is null || Condition(statusEvent));
    }
}
