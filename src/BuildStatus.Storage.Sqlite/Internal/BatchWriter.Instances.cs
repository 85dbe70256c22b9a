using BuildStatus.Storage;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>The writer's part of instances: fencing checks and creation ids, inside the write transactions.</summary>
internal sealed partial class BatchWriter
{
    // Created on first use, on the writer connection; owned (and disposed) like the other statements.
    private WriterStatement? _selectClaimedBy;
    private WriterStatement? _selectCreation;
    private WriterStatement? _insertCreation;
    private WriterStatement? _upsertRequest;

    // Inside a write transaction. Started and cancelled are final; otherwise the last write wins.
    private void UpsertRequests(IReadOnlyList<StoredBuildRequest> requests)
    {
        if (requests.Count == 0)
        {
            return;
        }

        _upsertRequest ??= Create(
            """
            INSERT INTO build_requests (id, builder_name, reason, stamps, properties, priority, submitted_at, state, claimed_by, build_number)
            VALUES ($id, $builder, $reason, $stamps, $properties, $priority, $submitted, $state, $claimed, $build)
            ON CONFLICT (id) DO UPDATE SET state = excluded.state, claimed_by = excluded.claimed_by, build_number = excluded.build_number
            WHERE build_requests.state < 2
            """,
            "$id", "$builder", "$reason", "$stamps", "$properties", "$priority", "$submitted", "$state", "$claimed", "$build");
        foreach (var r in requests)
        {
            Execute(_upsertRequest, r.Id, r.BuilderName, r.Reason, Json.Write(r.SourceStamps), Json.Write(r.Properties), (long)r.Priority, UnixTime.ToStored(r.SubmittedAt), (long)r.State, r.ClaimedBy, r.BuildNumber is { } n ? (long)n : null);
        }
    }

    /// <summary>Gets the writer connection, for the instance operations run under the store's writer lock.</summary>
    public SqliteConnection Connection => _connection;

    /// <summary>Opens an IMMEDIATE transaction on the writer connection.</summary>
    public SqliteTransaction BeginImmediate() => Begin();

    // Inside a write transaction: refuses the write of an instance another one has claimed.
    private void ThrowIfFenced(long? instanceId)
    {
        if (instanceId is not { } id)
        {
            return;
        }

        _selectClaimedBy ??= Create("SELECT coalesce(claimed_by, 0) FROM instances WHERE id = $id", "$id");
        if (TryScalar(_selectClaimedBy, id) is > 0 and var claimer)
        {
            throw new InstanceFencedException(id, claimer);
        }
    }

    // Inside a write transaction: the number of the build an earlier attempt created with this creation id.
    private int? FindCreation(string? creationId)
    {
        if (creationId is null)
        {
            return null;
        }

        _selectCreation ??= Create("SELECT b.number FROM build_creations c JOIN builds b ON b.id = c.build_id WHERE c.creation_id = $creation", "$creation");
        return TryScalar(_selectCreation, creationId) is { } number ? (int)number : null;
    }

    // Inside a write transaction, right after the build's row was inserted.
    private void RecordCreation(StoredBuild build, int number)
    {
        if (build.InstanceId is not { } instance)
        {
            return;
        }

        _insertCreation ??= Create("INSERT INTO build_creations (build_id, instance_id, creation_id) VALUES ($build, $instance, $creation)", "$build", "$instance", "$creation");
        Execute(_insertCreation, _buildIds[new BuildKey(build.BuilderName, number)], instance, build.CreationId);
    }
}
