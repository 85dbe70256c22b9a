namespace BuildStatus.Storage;

/// <summary>
/// A registered instance: one start of a host, the owner of the builds it runs. Times are on the store's clock (see
/// <see cref="IBuildInstanceStore"/>).
/// </summary>
/// <param name="Id">The instance id: unique in the store, never reused.</param>
/// <param name="HostName">The host's configured name (several instances may share it).</param>
/// <param name="StartedAt">When it registered.</param>
/// <param name="HeartbeatAt">Its last renewed lease.</param>
/// <param name="ExpiresAt">When its lease runs out unless renewed.</param>
/// <param name="StoppedAt">When it stopped cleanly, or <see langword="null"/>.</param>
/// <param name="ClaimedBy">The instance that claimed it for recovery, or <see langword="null"/>. A claimed instance
/// is fenced: its writes are refused with <see cref="InstanceFencedException"/>.</param>
/// <param name="RecoveredAt">When its recovery was completed, or <see langword="null"/>.</param>
public sealed record StoredInstance(
    long Id,
    string HostName,
    DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? StoppedAt,
    long? ClaimedBy,
    DateTimeOffset? RecoveredAt)
{
    /// <summary>Gets whether the instance is live at <paramref name="now"/>: not stopped, not claimed, lease not expired.</summary>
    /// <param name="now">The time to judge at.</param>
    /// <returns><see langword="true"/> when live.</returns>
    public bool IsLiveAt(DateTimeOffset now) => StoppedAt is null && ClaimedBy is null && ExpiresAt > now;
}
