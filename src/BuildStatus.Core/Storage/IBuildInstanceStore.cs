namespace BuildStatus.Storage;

/// <summary>
/// The optional part of the storage SPI that lets several host processes share one history safely: instances with
/// leases, recovery of only what is dead, fencing, and idempotent build creation. Core detects it with a type test
/// on the <see cref="IBuildStore"/>; a store that does not implement it still works, as a single host whose
/// recovery finishes the unfinished builds of its <see cref="BuildStatusOptions.HostName"/>.
/// </summary>
/// <remarks>
/// <para>
/// An optional interface rather than default members on <see cref="IBuildStore"/>: a default member could only throw
/// or pretend, and Core must know for certain whether a store fences, so it does not run a cluster on a store that
/// cannot. A backend written against <see cref="IBuildStore"/> alone keeps compiling and running.
/// </para>
/// <para>
/// Contract. Every <c>now</c> argument is Core's clock (<see cref="TimeProvider"/>, whole microseconds); a backend
/// with a clock of its own that every host shares (a database server) uses that instead, so hosts with skewed clocks
/// agree. An instance is <em>dead</em> once it stopped (<see cref="StopInstanceAsync"/>) or its lease expired
/// (<see cref="StoredInstance.ExpiresAt"/> ≤ now). A dead instance is <em>claimed</em> by at most one live instance at
/// a time (<see cref="ClaimDeadInstancesAsync"/>, atomic), which finishes its unfinished builds and then completes the
/// recovery. A claimed instance is <em>fenced</em>: the store refuses its writes — <see cref="IBuildStore.ApplyAsync"/>
/// of a batch whose <see cref="WriteBatch.InstanceId"/> is a claimed instance, and
/// <see cref="IBuildStore.CreateBuildAsync"/> of a build whose <see cref="StoredBuild.InstanceId"/> is — by throwing
/// <see cref="InstanceFencedException"/>, checked in the same transaction as the write. Builds store their
/// <see cref="StoredBuild.InstanceId"/>; a <see cref="StoredBuild.CreationId"/> already stored makes
/// <see cref="IBuildStore.CreateBuildAsync"/> return that build's number instead of creating another. Instance ids
/// are never reused.
/// </para>
/// </remarks>
public interface IBuildInstanceStore
{
    /// <summary>
    /// Gets whether this object really stores instances. A wrapper that implements the interface to forward it (such
    /// as <c>DelegatingBuildStore</c>) says here whether what it wraps does; Core uses instances only when it is
    /// <see langword="true"/>.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    bool SupportsInstances => true;

    /// <summary>Registers a new instance with a lease of <paramref name="lease"/> from now.</summary>
    /// <param name="hostName">The host's name.</param>
    /// <param name="now">Core's clock.</param>
    /// <param name="lease">How long the lease lasts without renewal.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new instance.</returns>
    /// <exception cref="ArgumentException"><paramref name="hostName"/> is null or empty.</exception>
    Task<StoredInstance> RegisterInstanceAsync(string hostName, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>Renews an instance's lease (even past its expiry, while nobody has claimed it).</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="now">Core's clock.</param>
    /// <param name="lease">The new lease, from now.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The renewed instance; <see langword="null"/> when it was claimed (fenced), stopped or is unknown.</returns>
    Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>Marks an instance as stopped cleanly: it is dead from now on, and its builds may be recovered at once.</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="now">Core's clock.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    Task StopInstanceAsync(long instanceId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Lists the instances whose recovery is not complete (live ones and dead ones not yet recovered), oldest first.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The instances.</returns>
    Task<IReadOnlyList<StoredInstance>> GetInstancesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically claims, for <paramref name="claimerId"/>, every dead instance that nobody live has claimed and whose
    /// recovery is not complete (an instance claimed by one that has died since may be claimed again). Never returns
    /// <paramref name="claimerId"/> itself, nor an instance another live instance holds.
    /// </summary>
    /// <param name="claimerId">The live instance that will recover them.</param>
    /// <param name="now">Core's clock.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The instances now claimed by <paramref name="claimerId"/>.</returns>
    /// <exception cref="InstanceFencedException"><paramref name="claimerId"/> is itself claimed.</exception>
    Task<IReadOnlyList<StoredInstance>> ClaimDeadInstancesAsync(long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Returns the unfinished builds that <paramref name="instanceId"/> created, by builder name and number.</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The builds.</returns>
    Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsOfInstanceAsync(long instanceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically claims a pending request for <paramref name="instanceId"/> (pending → claimed): of several instances
    /// claiming one request, exactly one gets it.
    /// </summary>
    /// <param name="requestId">The request.</param>
    /// <param name="instanceId">The claiming instance.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when claimed; <see langword="false"/> when it is not pending (or unknown).</returns>
    /// <exception cref="InstanceFencedException"><paramref name="instanceId"/> is claimed.</exception>
    Task<bool> ClaimRequestAsync(long requestId, long instanceId, CancellationToken cancellationToken = default);

    /// <summary>Returns the requests an instance claimed but did not start to pending (part of recovering it).</summary>
    /// <param name="instanceId">The dead instance.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many requests returned to pending.</returns>
    Task<int> ReleaseRequestsAsync(long instanceId, CancellationToken cancellationToken = default);

    /// <summary>Lists stored requests, oldest first.</summary>
    /// <param name="builderName">Only this builder's, or <see langword="null"/> for all.</param>
    /// <param name="state">Only those in this state, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The requests.</returns>
    Task<IReadOnlyList<StoredBuildRequest>> GetRequestsAsync(string? builderName, BuildRequestState? state, CancellationToken cancellationToken = default);

    /// <summary>Marks the recovery of a claimed instance complete; it is no longer listed.</summary>
    /// <param name="instanceId">The recovered instance.</param>
    /// <param name="claimerId">The instance that claimed it; nothing changes when another holds the claim.</param>
    /// <param name="now">Core's clock.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    Task CompleteRecoveryAsync(long instanceId, long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default);
}
