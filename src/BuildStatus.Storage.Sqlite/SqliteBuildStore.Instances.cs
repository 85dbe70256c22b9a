using BuildStatus.Storage.Sqlite.Internal;
using Dapper;

namespace BuildStatus.Storage.Sqlite;

/// <summary>
/// Instances and leases (<see cref="IBuildInstanceStore"/>) on SQLite: several processes on one file share them. SQLite
/// has no clock of its own, so leases use the time Core passes (the processes share the machine's clock). Every
/// operation that changes instances runs in an IMMEDIATE transaction on the writer connection, so claims are atomic
/// across processes and a fenced instance's write is refused in the same transaction that would apply it.
/// </summary>
public sealed partial class SqliteBuildStore
{
    private const string InstanceColumns = "id AS Id, host_name AS HostName, started_at AS StartedAt, heartbeat_at AS HeartbeatAt, expires_at AS ExpiresAt, stopped_at AS StoppedAt, claimed_by AS ClaimedBy, recovered_at AS RecoveredAt";

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<StoredInstance> RegisterInstanceAsync(string hostName, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        return WriteInstancesAsync(
            connection =>
            {
                var at = UnixTime.ToStored(now);
                var row = connection.QuerySingle<InstanceRow>(
                    $"INSERT INTO instances (host_name, started_at, heartbeat_at, expires_at) VALUES (@hostName, @at, @at, @expires) RETURNING {InstanceColumns}",
                    new { hostName, at, expires = UnixTime.ToStored(now + lease) });
                return row.ToRecord();
            },
            cancellationToken);
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
        => WriteInstancesAsync(
            connection => connection.QuerySingleOrDefault<InstanceRow>(
                $"UPDATE instances SET heartbeat_at = @at, expires_at = @expires WHERE id = @instanceId AND claimed_by IS NULL AND stopped_at IS NULL RETURNING {InstanceColumns}",
                new { instanceId, at = UnixTime.ToStored(now), expires = UnixTime.ToStored(now + lease) })?.ToRecord(),
            cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task StopInstanceAsync(long instanceId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => WriteInstancesAsync(
            connection => connection.Execute("UPDATE instances SET stopped_at = @at WHERE id = @instanceId AND stopped_at IS NULL", new { instanceId, at = UnixTime.ToStored(now) }),
            cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<IReadOnlyList<StoredInstance>> GetInstancesAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<InstanceRow>(new CommandDefinition(
                $"SELECT {InstanceColumns} FROM instances WHERE recovered_at IS NULL ORDER BY id", cancellationToken: cancellationToken)).ConfigureAwait(false);
            return rows.Select(r => r.ToRecord()).ToArray();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<IReadOnlyList<StoredInstance>> ClaimDeadInstancesAsync(long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => WriteInstancesAsync<IReadOnlyList<StoredInstance>>(
            connection =>
            {
                var at = UnixTime.ToStored(now);
                if (connection.ExecuteScalar<long?>("SELECT claimed_by FROM instances WHERE id = @claimerId", new { claimerId }) is { } holder)
                {
                    throw new InstanceFencedException(claimerId, holder);
                }

                // Dead: stopped or expired. Claimable: not claimed, or claimed by an instance that is itself dead.
                return connection.Query<InstanceRow>(
                    $"""
                    UPDATE instances SET claimed_by = @claimerId
                    WHERE id <> @claimerId AND recovered_at IS NULL
                      AND (stopped_at IS NOT NULL OR expires_at <= @at)
                      AND (claimed_by IS NULL OR claimed_by NOT IN (
                          SELECT id FROM instances WHERE stopped_at IS NULL AND claimed_by IS NULL AND expires_at > @at))
                    RETURNING {InstanceColumns}
                    """,
                    new { claimerId, at }).Select(r => r.ToRecord()).OrderBy(i => i.Id).ToArray();
            },
            cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsOfInstanceAsync(long instanceId, CancellationToken cancellationToken = default)
    {
        (string Builder, long Number)[] keys;
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            keys = (await connection.QueryAsync<(string, long)>(new CommandDefinition(
                """
                SELECT r.name, b.number FROM build_creations c
                JOIN builds b ON b.id = c.build_id JOIN builders r ON r.id = b.builder_id
                WHERE c.instance_id = @instanceId AND b.finished_at IS NULL
                ORDER BY r.name, b.number
                """,
                new { instanceId },
                cancellationToken: cancellationToken)).ConfigureAwait(false)).ToArray();
        }

        var builds = new List<StoredBuild>(keys.Length);
        foreach (var (builder, number) in keys)
        {
            if (await GetBuildAsync(new BuildKey(builder, (int)number), cancellationToken).ConfigureAwait(false) is { } build)
            {
                builds.Add(build with { InstanceId = instanceId });
            }
        }

        return builds;
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task CompleteRecoveryAsync(long instanceId, long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => WriteInstancesAsync(
            connection => connection.Execute(
                "UPDATE instances SET recovered_at = @at WHERE id = @instanceId AND claimed_by = @claimerId AND recovered_at IS NULL",
                new { instanceId, claimerId, at = UnixTime.ToStored(now) }),
            cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<bool> ClaimRequestAsync(long requestId, long instanceId, CancellationToken cancellationToken = default)
        => WriteInstancesAsync(
            connection =>
            {
                if (connection.ExecuteScalar<long?>("SELECT claimed_by FROM instances WHERE id = @instanceId", new { instanceId }) is { } holder)
                {
                    throw new InstanceFencedException(instanceId, holder);
                }

                return connection.Execute(
                    "UPDATE build_requests SET state = 1, claimed_by = @instanceId WHERE id = @requestId AND state = 0",
                    new { requestId, instanceId }) == 1;
            },
            cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<int> ReleaseRequestsAsync(long instanceId, CancellationToken cancellationToken = default)
        => WriteInstancesAsync(
            connection => connection.Execute("UPDATE build_requests SET state = 0, claimed_by = NULL WHERE state = 1 AND claimed_by = @instanceId", new { instanceId }),
            cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<IReadOnlyList<StoredBuildRequest>> GetRequestsAsync(string? builderName, BuildRequestState? state, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<RequestRow>(new CommandDefinition(
                """
                SELECT id AS Id, builder_name AS BuilderName, reason AS Reason, stamps AS Stamps, properties AS Properties, priority AS Priority,
                       submitted_at AS SubmittedAt, state AS State, claimed_by AS ClaimedBy, build_number AS BuildNumber
                FROM build_requests
                WHERE (@builderName IS NULL OR builder_name = @builderName) AND (@state IS NULL OR state = @state)
                ORDER BY submitted_at, id
                """,
                new { builderName, state = state is { } s ? (long?)s : null },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return rows.Select(r => r.ToRecord()).ToArray();
        }
    }

    /// <summary>A build_requests row as Dapper reads it.</summary>
    private sealed record RequestRow(long Id, string BuilderName, string? Reason, string Stamps, string Properties, long Priority, long SubmittedAt, long State, long? ClaimedBy, long? BuildNumber)
    {
        public StoredBuildRequest ToRecord() => new(
            Id,
            BuilderName,
            Reason,
            Json.ReadStamps(Stamps),
            Json.ReadProperties(Properties),
            (int)Priority,
            UnixTime.FromStored(SubmittedAt),
            (BuildRequestState)State,
            ClaimedBy,
            BuildNumber is { } n ? (int)n : null);
    }

    // Runs an instance write in its own IMMEDIATE transaction under the writer lock.
    private async Task<T> WriteInstancesAsync<T>(Func<Microsoft.Data.Sqlite.SqliteConnection, T> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            InitializeLocked();
            using var transaction = _batchWriter!.BeginImmediate();
            var result = write(_batchWriter.Connection);
            transaction.Commit();
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>An instances row as Dapper reads it.</summary>
    private sealed record InstanceRow(long Id, string HostName, long StartedAt, long HeartbeatAt, long ExpiresAt, long? StoppedAt, long? ClaimedBy, long? RecoveredAt)
    {
        public StoredInstance ToRecord() => new(
            Id,
            HostName,
            UnixTime.FromStored(StartedAt),
            UnixTime.FromStored(HeartbeatAt),
            UnixTime.FromStored(ExpiresAt),
            UnixTime.FromStored(StoppedAt),
            ClaimedBy,
            UnixTime.FromStored(RecoveredAt));
    }
}
