namespace BuildStatus.Storage;

/// <summary>What <see cref="IBuildEventFeed.ReadEventsAsync"/> returns: some events, and how far retention has removed them.</summary>
/// <param name="Events">The events after the sequence asked for, in sequence order.</param>
/// <param name="PrunedThrough">The highest sequence the store has deleted by retention (0 when none): a reader whose last
/// sequence is below it has missed events.</param>
public sealed record StoredEventPage(IReadOnlyList<StoredEvent> Events, long PrunedThrough);
