using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using static BuildStatus.Storage.Postgres.Internal.Parameters;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// The write path's part of instances (<see cref="IBuildInstanceStore"/>): the fencing check inside each batch's
/// transaction, stored build requests in the batch, and the creation of a build stamped with an instance and a
/// creation id (fenced and idempotent in one statement).
/// </summary>
/// <remarks>
/// Fencing holds the writing instance's row <c>FOR SHARE</c> until the batch's transaction ends. A claim is an
/// <c>UPDATE</c> of that row, so it waits for the batch to commit (and the claimer then recovers what the batch
/// wrote), or the batch waits for the claim and then sees it and rolls back: a fenced instance never commits a write
/// after its claim.
/// </remarks>
internal sealed partial class BatchApplier
{
    private readonly InstanceStatements _instance;

    /// <summary>Adds the statements of the batch's stored requests (one multi-row upsert) to <paramref name="npgsqlBatch"/>.</summary>
    private void AddRequests(NpgsqlBatch npgsqlBatch, IReadOnlyList<StoredBuildRequest> requests)
    {
        if (requests.Count == 0)
        {
            return;
        }

        // One row per request id (an upsert may not touch a row twice): the rows in batch order, where started and
        // cancelled are final and otherwise the last write wins, as the rows would apply one by one.
        var rows = new Dictionary<long, StoredBuildRequest>();
        foreach (var request in requests)
        {
            if (!rows.TryGetValue(request.Id, out var earlier) || earlier.State < BuildRequestState.Started)
            {
                rows[request.Id] = earlier is null ? request : earlier with { State = request.State, ClaimedBy = request.ClaimedBy, BuildNumber = request.BuildNumber };
            }
        }

        var r = rows.Values.ToArray();
        var command = new NpgsqlBatchCommand(_instance.UpsertRequests);
        command.Parameters.Add(LongArray([.. r.Select(x => x.Id)]));
        command.Parameters.Add(TextArray([.. r.Select(x => x.BuilderName)]));
        command.Parameters.Add(TextArray([.. r.Select(x => x.Reason)]));
        command.Parameters.Add(JsonArray([.. r.Select(x => Postgres.Internal.Json.Write(x.SourceStamps))]));
        command.Parameters.Add(JsonArray([.. r.Select(x => Postgres.Internal.Json.Write(x.Properties))]));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, Value = r.Select(x => x.Priority).ToArray() });
        command.Parameters.Add(LongArray([.. r.Select(x => PgTime.ToStored(x.SubmittedAt))]));
        command.Parameters.Add(ShortArray([.. r.Select(x => (short)x.State)]));
        command.Parameters.Add(NullableLongArray([.. r.Select(x => x.ClaimedBy)]));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, Value = r.Select(x => x.BuildNumber).ToArray() });
        npgsqlBatch.BatchCommands.Add(command);
    }

    /// <summary>
    /// Adds the fencing check of the batch's instance, the last statement of the transaction: it locks the instance's
    /// row <c>FOR SHARE</c> and returns a row only when the instance is claimed.
    /// </summary>
    /// <returns>The statement's index, or -1 when the batch has no instance.</returns>
    private int AddFenceCheck(NpgsqlBatch npgsqlBatch, long? instanceId)
    {
        if (instanceId is not { } id)
        {
            return -1;
        }

        var command = new NpgsqlBatchCommand(_instance.FenceCheck);
        command.Parameters.Add(Long(id));
        npgsqlBatch.BatchCommands.Add(command);
        return npgsqlBatch.BatchCommands.Count - 1;
    }

    /// <summary>After the batch ran: whether its fencing check (at <paramref name="fence"/>) found the instance claimed.</summary>
    private static bool IsFenced(NpgsqlBatch npgsqlBatch, int fence) => fence >= 0 && npgsqlBatch.BatchCommands[fence].Rows > 0;

    /// <summary>Builds the exception for a fenced instance (outside the rolled-back transaction; a claim is never undone).</summary>
    private async Task<InstanceFencedException> FencedAsync(NpgsqlConnection connection, long instanceId)
    {
        using var command = new NpgsqlCommand(_instance.ClaimedBy, connection);
        command.Parameters.Add(Long(instanceId));
        return await command.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false) is long holder
            ? new InstanceFencedException(instanceId, holder)
            : new InstanceFencedException(string.Create(CultureInfo.InvariantCulture, $"Instance {instanceId} was fenced: another instance claimed it for recovery, so its writes are refused."));
    }

    /// <summary>
    /// Creates a build stamped with its instance and creation id in one statement (its own transaction): refused when
    /// the instance is claimed, the earlier build's number when the creation id is stored already, else a new number.
    /// </summary>
    /// <exception cref="InstanceFencedException">The build's instance is claimed; nothing was stored.</exception>
    private async Task<int> CreateInstanceBuildAsync(NpgsqlConnection connection, StoredBuild build)
    {
        using var command = new NpgsqlCommand(_instance.CreateBuild, connection);
        var p = command.Parameters;
        AddCreateBuildParameters(p, build);
        p.Add(Long(build.InstanceId));
        p.Add(Text(build.CreationId));

        // Not cancellable once sent: a cancelled statement might still have committed, and its number would be lost.
        int? created = null, earlier = null;
        long? holder = null;
        var reader = await command.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            if (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                created = reader.IsDBNull(0) ? null : reader.GetInt32(0);
                earlier = reader.IsDBNull(1) ? null : reader.GetInt32(1);
                holder = reader.IsDBNull(2) ? null : reader.GetInt64(2);
            }
        }

        if (holder is { } claimer)
        {
            throw new InstanceFencedException(build.InstanceId!.Value, claimer);
        }

        var number = created ?? earlier ?? throw new BuildStoreException($"Creating a build of '{build.BuilderName}' stored nothing and found no earlier build with creation id '{build.CreationId}'.");
        RaiseKnownLastNumber(build.BuilderName, number);
        if (created is not null && _children.Count < MaxCachedBuilds)
        {
            _children[new BuildKey(build.BuilderName, number)] = (build.SourceStamps, build.Properties);
        }

        return number;
    }

    /// <summary>The SQL of the instance statements, for one schema.</summary>
    private sealed class InstanceStatements
    {
        public InstanceStatements(string s)
        {
            // Started and cancelled are final: a later write of a request in either state changes nothing.
            UpsertRequests = $"INSERT INTO {s}.build_requests AS q (id, builder_name, reason, stamps, properties, priority, submitted_at, state, claimed_by, build_number) "
                + "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::smallint[], $9::bigint[], $10::int[]) "
                + "ON CONFLICT (id) DO UPDATE SET state = excluded.state, claimed_by = excluded.claimed_by, build_number = excluded.build_number "
                + "WHERE q.state < 2";
            FenceCheck = $"SELECT f.claimed_by FROM (SELECT claimed_by FROM {s}.instances WHERE id = $1 FOR SHARE) f WHERE f.claimed_by IS NOT NULL";
            ClaimedBy = $"SELECT claimed_by FROM {s}.instances WHERE id = $1";

            // As BatchApplier's plain create, behind two checks in the same statement: the instance's row is locked
            // FOR SHARE (a concurrent claim waits for this commit, or this waits for the claim and sees it), and a
            // creation id already stored returns that build instead of inserting. Either check stops every insert.
            CreateBuild = $"WITH f AS (SELECT claimed_by FROM {s}.instances WHERE id = $19 FOR SHARE), "
                + $"c AS (SELECT number FROM {s}.builds WHERE creation_id = $20), "
                + "go AS (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM f WHERE f.claimed_by IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM c)), "
                + $"r AS (INSERT INTO {s}.builders AS r (name, last_number) SELECT $1, 1 FROM go ON CONFLICT (name) DO UPDATE SET last_number = r.last_number + 1 RETURNING r.id, r.last_number), "
                + $"b AS (INSERT INTO {s}.builds (builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text, changes, responsible_users, instance_id, creation_id) "
                + "SELECT r.id, r.last_number, $2, $3, $4, $5, $6, $7, $8, $9, $10, $19, $20 FROM r RETURNING id, number), "
                + $"st AS (INSERT INTO {s}.source_stamps (build_id, position, repository, branch, revision, project, codebase) "
                + "SELECT b.id, u.ord - 1, u.repository, u.branch, u.revision, u.project, u.codebase FROM b, "
                + "unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) WITH ORDINALITY AS u (repository, branch, revision, project, codebase, ord)), "
                + $"pr AS (INSERT INTO {s}.build_properties (build_id, name, value, source) SELECT b.id, u.name, u.value, u.source FROM b, "
                + "unnest($16::text[], $17::text[], $18::text[]) AS u (name, value, source)) "
                + "SELECT (SELECT number FROM b), (SELECT number FROM c), (SELECT claimed_by FROM f)";
        }

        public string UpsertRequests { get; }

        public string FenceCheck { get; }

        public string ClaimedBy { get; }

        public string CreateBuild { get; }
    }
}
