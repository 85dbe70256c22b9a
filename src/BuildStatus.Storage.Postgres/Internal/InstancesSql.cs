using Npgsql;
using static BuildStatus.Storage.Postgres.Internal.Parameters;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// The statements of instances, leases, recovery claims and stored requests (<see cref="IBuildInstanceStore"/>), each
/// run on a pooled connection the caller opens for one call. Stateless apart from the SQL text.
/// </summary>
/// <remarks>
/// <para>
/// Time: every statement that needs "now" takes it as a nullable parameter and falls back to the server's
/// <c>statement_timestamp()</c>, so every host judges every lease on one clock whatever its own says. The store sends
/// <see langword="null"/> (the server's clock) unless <see cref="PostgresStorageOptions.InstanceTimesFromCaller"/> is
/// set, which only the conformance suite does.
/// </para>
/// <para>
/// Atomicity without exceptions as control flow: a claim of dead instances is one <c>UPDATE ... RETURNING</c> of the
/// claimable rows, taken <c>FOR UPDATE SKIP LOCKED</c>: a row another claimer holds is skipped, and a row whose claim
/// committed meanwhile fails the re-checked <c>WHERE</c> (READ COMMITTED). A request claim is one
/// <c>UPDATE ... WHERE state = pending</c>: of two, the second waits for the first and then finds the row no longer
/// pending. Each dead instance and each pending request goes to exactly one claimer. A claimer first takes its own row
/// <c>FOR SHARE</c> in the same transaction, so it cannot claim while being claimed itself.
/// </para>
/// </remarks>
internal sealed class InstancesSql
{
    /// <summary>The server's clock in stored form (unix microseconds), the same for the whole statement.</summary>
    public const string ServerNow = "(extract(epoch FROM statement_timestamp()) * 1000000)::bigint";

    private const string Columns = "id, host_name, started_at, heartbeat_at, expires_at, stopped_at, claimed_by, recovered_at";

    private readonly string _register;
    private readonly string _renew;
    private readonly string _stop;
    private readonly string _list;
    private readonly string _lockSelf;
    private readonly string _claimDead;
    private readonly string _complete;
    private readonly string _claimRequest;
    private readonly string _releaseRequests;
    private readonly string _requests;

    public InstancesSql(string schema)
    {
        var s = "\"" + schema + "\"";
        var now = $"coalesce($2::bigint, {ServerNow})";
        _register = $"INSERT INTO {s}.instances (host_name, started_at, heartbeat_at, expires_at) SELECT $1, t.at, t.at, t.at + $3 FROM (SELECT {now} AS at) t RETURNING {Columns}";
        _renew = $"UPDATE {s}.instances i SET heartbeat_at = t.at, expires_at = t.at + $3 FROM (SELECT {now} AS at) t "
            + $"WHERE i.id = $1 AND i.claimed_by IS NULL AND i.stopped_at IS NULL RETURNING i.{Columns.Replace(", ", ", i.", StringComparison.Ordinal)}";
        _stop = $"UPDATE {s}.instances SET stopped_at = {now} WHERE id = $1 AND stopped_at IS NULL";
        _list = $"SELECT {Columns} FROM {s}.instances WHERE recovered_at IS NULL ORDER BY id";
        _lockSelf = $"SELECT claimed_by FROM {s}.instances WHERE id = $1 FOR SHARE";

        // Dead: stopped, or its lease ran out on the server's clock. Claimable: nobody claimed it, or its claimer is
        // itself dead now, or the claimer is this instance (a claim it made whose recovery did not complete, e.g. the
        // commit's answer was lost: the next heartbeat takes it up again instead of leaving it claimed forever).
        // The candidates are locked FOR UPDATE SKIP LOCKED: a row another claimer is updating, or that a write of
        // its own instance holds FOR SHARE (a transaction of that instance still open: it may yet commit), is left
        // for a later heartbeat instead of being waited for, so a host paused inside a transaction never blocks
        // its claimers' heartbeats.
        _claimDead = $"WITH t AS (SELECT {now} AS at), "
            + $"c AS (SELECT i.id FROM {s}.instances i, t "
            + "WHERE i.id <> $1 AND i.recovered_at IS NULL AND (i.stopped_at IS NOT NULL OR i.expires_at <= t.at) "
            + "AND (i.claimed_by IS NULL OR i.claimed_by = $1 OR NOT EXISTS ("
            + $"SELECT 1 FROM {s}.instances h WHERE h.id = i.claimed_by AND h.stopped_at IS NULL AND h.claimed_by IS NULL AND h.expires_at > t.at)) "
            + "FOR UPDATE OF i SKIP LOCKED) "
            + $"UPDATE {s}.instances i SET claimed_by = $1 FROM c WHERE i.id = c.id "
            + $"RETURNING i.{Columns.Replace(", ", ", i.", StringComparison.Ordinal)}";
        _complete = $"UPDATE {s}.instances SET recovered_at = {now.Replace("$2", "$3", StringComparison.Ordinal)} WHERE id = $1 AND claimed_by = $2 AND recovered_at IS NULL";
        _claimRequest = $"UPDATE {s}.build_requests SET state = 1, claimed_by = $2 WHERE id = $1 AND state = 0";
        _releaseRequests = $"UPDATE {s}.build_requests SET state = 0, claimed_by = NULL WHERE state = 1 AND claimed_by = $1";
        _requests = "SELECT id, builder_name, reason, stamps, properties, priority, submitted_at, state, claimed_by, build_number "
            + $"FROM {s}.build_requests WHERE ($1::text IS NULL OR builder_name = $1) AND ($2::smallint IS NULL OR state = $2) ORDER BY submitted_at, id";
    }

    public async Task<StoredInstance> RegisterAsync(NpgsqlConnection connection, string hostName, long? now, TimeSpan lease, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_register, connection);
        command.Parameters.Add(Text(hostName));
        command.Parameters.Add(Long(now));
        command.Parameters.Add(Long(Micros(lease)));
        return (await ReadInstancesAsync(command, cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<StoredInstance?> RenewAsync(NpgsqlConnection connection, long instanceId, long? now, TimeSpan lease, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_renew, connection);
        command.Parameters.Add(Long(instanceId));
        command.Parameters.Add(Long(now));
        command.Parameters.Add(Long(Micros(lease)));
        var rows = await ReadInstancesAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task StopAsync(NpgsqlConnection connection, long instanceId, long? now, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_stop, connection);
        command.Parameters.Add(Long(instanceId));
        command.Parameters.Add(Long(now));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredInstance>> ListAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_list, connection);
        return await ReadInstancesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Claims the claimable dead instances for <paramref name="claimerId"/>, in one transaction that first locks the claimer's row.</summary>
    /// <exception cref="InstanceFencedException">The claimer is itself claimed.</exception>
    public async Task<IReadOnlyList<StoredInstance>> ClaimDeadAsync(NpgsqlConnection connection, long claimerId, long? now, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await ThrowIfFencedAsync(connection, transaction, claimerId, cancellationToken).ConfigureAwait(false);
            using var command = new NpgsqlCommand(_claimDead, connection, transaction);
            command.Parameters.Add(Long(claimerId));
            command.Parameters.Add(Long(now));

            // Not cancellable from here: a claim that commits must be seen by its caller (else it waits for the next heartbeat).
            var claimed = await ReadInstancesAsync(command, CancellationToken.None).ConfigureAwait(false);
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            return [.. claimed.OrderBy(i => i.Id)];
        }
    }

    public async Task CompleteRecoveryAsync(NpgsqlConnection connection, long instanceId, long claimerId, long? now, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_complete, connection);
        command.Parameters.Add(Long(instanceId));
        command.Parameters.Add(Long(claimerId));
        command.Parameters.Add(Long(now));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Claims a pending request (pending → claimed) in one transaction that first locks the claimer's row.</summary>
    /// <exception cref="InstanceFencedException">The claimer is claimed.</exception>
    public async Task<bool> ClaimRequestAsync(NpgsqlConnection connection, long requestId, long instanceId, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await ThrowIfFencedAsync(connection, transaction, instanceId, cancellationToken).ConfigureAwait(false);
            using var command = new NpgsqlCommand(_claimRequest, connection, transaction);
            command.Parameters.Add(Long(requestId));
            command.Parameters.Add(Long(instanceId));
            var claimed = await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false) == 1;
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            return claimed;
        }
    }

    public async Task<int> ReleaseRequestsAsync(NpgsqlConnection connection, long instanceId, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_releaseRequests, connection);
        command.Parameters.Add(Long(instanceId));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredBuildRequest>> GetRequestsAsync(NpgsqlConnection connection, string? builderName, BuildRequestState? state, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_requests, connection);
        command.Parameters.Add(Text(builderName));
        command.Parameters.Add(Short((short?)state));
        var requests = new List<StoredBuildRequest>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                requests.Add(new StoredBuildRequest(
                    reader.GetInt64(0),
                    PgText.Decode(reader.GetString(1)),
                    reader.IsDBNull(2) ? null : PgText.Decode(reader.GetString(2)),
                    Json.ReadStamps(reader.GetString(3)),
                    Json.ReadProperties(reader.GetString(4)),
                    reader.GetInt32(5),
                    PgTime.FromStored(reader.GetInt64(6)),
                    (BuildRequestState)reader.GetInt16(7),
                    reader.IsDBNull(8) ? null : reader.GetInt64(8),
                    reader.IsDBNull(9) ? null : reader.GetInt32(9)));
            }
        }

        return requests;
    }

    /// <summary>
    /// Inside a transaction: takes <paramref name="instanceId"/>'s row <c>FOR SHARE</c> until the transaction ends, so
    /// nobody can claim it meanwhile, and refuses to go on when it is already claimed. An unknown id is not fenced.
    /// </summary>
    /// <exception cref="InstanceFencedException">The instance is claimed.</exception>
    public async Task ThrowIfFencedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long instanceId, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(_lockSelf, connection, transaction);
        command.Parameters.Add(Long(instanceId));
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long holder)
        {
            throw new InstanceFencedException(instanceId, holder);
        }
    }

    /// <summary>Converts a lease to stored microseconds, rounded up so a lease never ends early.</summary>
    public static long Micros(TimeSpan lease) => (lease.Ticks + StorageTime.TicksPerUnit - 1) / StorageTime.TicksPerUnit;

    private static async Task<List<StoredInstance>> ReadInstancesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var instances = new List<StoredInstance>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                instances.Add(new StoredInstance(
                    reader.GetInt64(0),
                    PgText.Decode(reader.GetString(1)),
                    PgTime.FromStored(reader.GetInt64(2)),
                    PgTime.FromStored(reader.GetInt64(3)),
                    PgTime.FromStored(reader.GetInt64(4)),
                    reader.IsDBNull(5) ? null : PgTime.FromStored(reader.GetInt64(5)),
                    reader.IsDBNull(6) ? null : reader.GetInt64(6),
                    reader.IsDBNull(7) ? null : PgTime.FromStored(reader.GetInt64(7))));
            }
        }

        return instances;
    }
}
