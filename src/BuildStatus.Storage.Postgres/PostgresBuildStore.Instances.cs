using BuildStatus.Storage.Postgres.Internal;
using Npgsql;

namespace BuildStatus.Storage.Postgres;

/// <summary>
/// Instances and leases (<see cref="IBuildInstanceStore"/>) on PostgreSQL, shared by every host on the database.
/// </summary>
/// <remarks>
/// <para>
/// Clock: the server's. Registration, heartbeats, stops, recovery and every "is this lease expired" test use
/// <c>statement_timestamp()</c> and ignore the <c>now</c> Core passes, so hosts whose clocks disagree still agree on
/// which instance is dead; the returned <see cref="StoredInstance"/> times are the server's.
/// </para>
/// <para>
/// Atomicity: claims of dead instances and of requests are single <c>UPDATE ... WHERE ... RETURNING</c> statements (of
/// concurrent claimers exactly one gets each row; no error is raised for the others), behind a <c>FOR SHARE</c> lock on
/// the claimer's own row. Fencing is checked in the transaction of the write it guards: a batch of a claimed instance
/// (<see cref="WriteBatch.InstanceId"/>) and a build it creates are refused with <see cref="InstanceFencedException"/>
/// and nothing of them is stored. Instance ids come from an identity sequence and are never reused.
/// </para>
/// </remarks>
public sealed partial class PostgresBuildStore
{
    private readonly InstancesSql _instances;

    /// <inheritdoc/>
    /// <remarks>The instance's times are the server's clock; <paramref name="now"/> is not used.</remarks>
    /// <exception cref="ArgumentException"><paramref name="hostName"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lease"/> is not positive.</exception>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<StoredInstance> RegisterInstanceAsync(string hostName, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        return InstanceCallAsync("Registering an instance", (c, t) => _instances.RegisterAsync(c, hostName, CallerTime(now), lease, t), cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>The lease runs <paramref name="lease"/> from the server's clock; <paramref name="now"/> is not used.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lease"/> is not positive.</exception>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        return InstanceCallAsync("Renewing a lease", (c, t) => _instances.RenewAsync(c, instanceId, CallerTime(now), lease, t), cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>Stamped with the server's clock; <paramref name="now"/> is not used.</remarks>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task StopInstanceAsync(long instanceId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => InstanceCallAsync("Stopping an instance", async (c, t) => { await _instances.StopAsync(c, instanceId, CallerTime(now), t).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<IReadOnlyList<StoredInstance>> GetInstancesAsync(CancellationToken cancellationToken = default)
        => InstanceCallAsync("Listing instances", _instances.ListAsync, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// One <c>UPDATE ... RETURNING</c> judged on the server's clock (<paramref name="now"/> is not used). Besides the
    /// instances nobody live holds, it returns again those <paramref name="claimerId"/> claimed earlier but did not
    /// complete (a claim whose answer was lost is taken up at the next heartbeat instead of staying claimed); Core
    /// recovers from one heartbeat loop per host, so a claimer never recovers one instance twice at once.
    /// </remarks>
    /// <exception cref="InstanceFencedException"><paramref name="claimerId"/> is itself claimed.</exception>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<IReadOnlyList<StoredInstance>> ClaimDeadInstancesAsync(long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => InstanceCallAsync("Claiming dead instances", (c, t) => _instances.ClaimDeadAsync(c, claimerId, CallerTime(now), t), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsOfInstanceAsync(long instanceId, CancellationToken cancellationToken = default)
        => InstanceCallAsync("Reading an instance's unfinished builds", (c, t) => _reader.GetUnfinishedBuildsOfInstanceAsync(c, instanceId, t), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="InstanceFencedException"><paramref name="instanceId"/> is claimed.</exception>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<bool> ClaimRequestAsync(long requestId, long instanceId, CancellationToken cancellationToken = default)
        => InstanceCallAsync("Claiming a build request", (c, t) => _instances.ClaimRequestAsync(c, requestId, instanceId, t), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<int> ReleaseRequestsAsync(long instanceId, CancellationToken cancellationToken = default)
        => InstanceCallAsync("Releasing build requests", (c, t) => _instances.ReleaseRequestsAsync(c, instanceId, t), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<IReadOnlyList<StoredBuildRequest>> GetRequestsAsync(string? builderName, BuildRequestState? state, CancellationToken cancellationToken = default)
        => InstanceCallAsync("Listing build requests", (c, t) => _instances.GetRequestsAsync(c, builderName, state, t), cancellationToken);

    /// <inheritdoc/>
    /// <remarks>Stamped with the server's clock; <paramref name="now"/> is not used.</remarks>
    /// <exception cref="BuildStoreException">The server could not be reached or the statement failed; the message names the host, port and database.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task CompleteRecoveryAsync(long instanceId, long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => InstanceCallAsync("Completing a recovery", async (c, t) => { await _instances.CompleteRecoveryAsync(c, instanceId, claimerId, CallerTime(now), t).ConfigureAwait(false); return true; }, cancellationToken);

    // The time sent to the instance statements: null (the server's clock) unless the options say to trust the caller.
    private long? CallerTime(DateTimeOffset now) => _options.InstanceTimesFromCaller ? PgTime.ToStored(now) : null;

    // Makes sure the schema exists, then runs one instance operation on a pooled connection; a driver error becomes a
    // BuildStoreException naming the server (transient: Core retries at the next heartbeat).
    private async Task<T> InstanceCallAsync<T>(string what, Func<NpgsqlConnection, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        try
        {
            return await ReadAsync(call, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw new BuildStoreException($"{what} in the {_target} failed: {e.Message}", e);
        }
    }
}
