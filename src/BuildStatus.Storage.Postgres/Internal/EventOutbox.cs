using BuildStatus.Storage;
using Npgsql;
using static BuildStatus.Storage.Postgres.Internal.Parameters;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// The event outbox's statements (migration 3): events written with each batch, in its transaction, under a
/// transaction-scoped advisory lock so that sequence order is commit order; reads from a sequence; retention.
/// Stateless apart from the SQL text, so any thread may use it.
/// </summary>
internal sealed class EventOutbox
{
    /// <summary>The first key of the advisory lock that orders outbox commits (the second is the schema's hash).</summary>
    public const int OutboxLockClass = 0x42535403;

    private const string Columns = "seq, instance_id, host_name, kind, at, builder_name, build_number, step_number, log_number, state_text, result, first_line, line_count";

    private readonly string _lock;
    private readonly string _insert;
    private readonly string _read;
    private readonly string _last;
    private readonly string _prune;
    private readonly string _horizon;

    public EventOutbox(string schema)
    {
        var s = "\"" + schema + "\"";
        Channel = NotificationChannel(schema);
        _lock = "SELECT pg_advisory_xact_lock($1, hashtext($2))";
        _insert = $"WITH added AS (INSERT INTO {s}.events (instance_id, host_name, kind, at, builder_name, build_number, step_number, log_number, state_text, result, first_line, line_count) "
            + "SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::bigint[], $5::text[], $6::integer[], $7::integer[], $8::integer[], $9::text[], $10::smallint[], $11::bigint[], $12::integer[]) "
            + "RETURNING seq) SELECT pg_notify($13, max(seq)::text) FROM added";
        _read = $"SELECT {Columns} FROM {s}.events WHERE seq > $1 ORDER BY seq LIMIT $2";
        _last = $"SELECT coalesce((SELECT max(seq) FROM {s}.events), (SELECT pruned_through FROM {s}.event_horizon))";
        _prune = $"WITH gone AS (DELETE FROM {s}.events WHERE seq <= (SELECT max(seq) FROM {s}.events WHERE written_at < now() - $1::interval) RETURNING seq) "
            + $"UPDATE {s}.event_horizon SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM gone)) WHERE (SELECT max(seq) FROM gone) IS NOT NULL";
        _horizon = $"SELECT pruned_through FROM {s}.event_horizon";
        Schema = schema;
    }

    /// <summary>Gets the channel that NOTIFY uses for this schema.</summary>
    public string Channel { get; }

    private string Schema { get; }

    /// <summary>Returns the LISTEN channel of a schema: a quoted identifier of at most 63 bytes.</summary>
    public static string NotificationChannel(string schema) => ("buildstatus_events_" + schema)[..Math.Min(63, 19 + schema.Length)];

    /// <summary>Adds the lock and the insert (with its NOTIFY) to a batch; returns how many commands it added.</summary>
    public int AddTo(NpgsqlBatch npgsqlBatch, IReadOnlyList<StoredEvent> events, long? instanceId)
    {
        if (events.Count == 0)
        {
            return 0;
        }

        var lockCommand = new NpgsqlBatchCommand(_lock);
        lockCommand.Parameters.Add(Int(OutboxLockClass));
        lockCommand.Parameters.Add(new NpgsqlParameter { Value = Schema });
        npgsqlBatch.BatchCommands.Add(lockCommand);

        var n = events.Count;
        var instance = new long[n];
        var hosts = new string?[n];
        var kinds = new int[n];
        var at = new long[n];
        var builders = new string?[n];
        var numbers = new int[n];
        var steps = new int?[n];
        var logs = new int?[n];
        var texts = new string?[n];
        var results = new short?[n];
        var firstLines = new long[n];
        var lineCounts = new int[n];
        for (var i = 0; i < n; i++)
        {
            var e = events[i];
            instance[i] = instanceId ?? e.InstanceId;
            hosts[i] = e.HostName;
            kinds[i] = (int)e.Kind;
            at[i] = PgTime.ToStored(e.Timestamp);
            builders[i] = e.BuilderName;
            numbers[i] = e.BuildNumber;
            steps[i] = e.StepNumber;
            logs[i] = e.LogNumber;
            texts[i] = e.Text;
            results[i] = (short?)e.Result;
            firstLines[i] = e.FirstLine;
            lineCounts[i] = e.LineCount;
        }

        var insert = new NpgsqlBatchCommand(_insert);
        insert.Parameters.Add(LongArray(instance));
        insert.Parameters.Add(TextArray(hosts));
        insert.Parameters.Add(IntArray(kinds));
        insert.Parameters.Add(LongArray(at));
        insert.Parameters.Add(TextArray(builders));
        insert.Parameters.Add(IntArray(numbers));
        insert.Parameters.Add(NullableIntArray(steps));
        insert.Parameters.Add(NullableIntArray(logs));
        insert.Parameters.Add(TextArray(texts));
        insert.Parameters.Add(NullableShortArray(results));
        insert.Parameters.Add(LongArray(firstLines));
        insert.Parameters.Add(IntArray(lineCounts));
        insert.Parameters.Add(new NpgsqlParameter { Value = Channel });
        npgsqlBatch.BatchCommands.Add(insert);
        return 2;
    }

    public async Task<long> LastAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(_last, connection);
        await using var commandScope = command.ConfigureAwait(false);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<StoredEventPage> ReadAsync(NpgsqlConnection connection, long afterSequence, int maxCount, CancellationToken cancellationToken)
    {
        // One snapshot for the rows and the horizon (REPEATABLE READ), so the horizon matches the rows it returns.
        var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var events = new List<StoredEvent>(Math.Min(maxCount, 256));
            var command = new NpgsqlCommand(_read, connection, transaction);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.Add(Long(afterSequence));
                command.Parameters.Add(Int(maxCount));
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        events.Add(new StoredEvent(
                            (StatusEventKinds)reader.GetInt32(3),
                            PgTime.FromStored(reader.GetInt64(4)),
                            PgText.Decode(reader.GetString(5)),
                            reader.GetInt32(6))
                        {
                            Sequence = reader.GetInt64(0),
                            InstanceId = reader.GetInt64(1),
                            HostName = PgText.Decode(reader.GetString(2)),
                            StepNumber = reader.IsDBNull(7) ? null : reader.GetInt32(7),
                            LogNumber = reader.IsDBNull(8) ? null : reader.GetInt32(8),
                            Text = reader.IsDBNull(9) ? null : PgText.Decode(reader.GetString(9)),
                            Result = reader.IsDBNull(10) ? null : (BuildResult)reader.GetInt16(10),
                            FirstLine = reader.GetInt64(11),
                            LineCount = reader.GetInt32(12),
                        });
                    }
                }
            }

            long prunedThrough;
            var horizon = new NpgsqlCommand(_horizon, connection, transaction);
            await using (horizon.ConfigureAwait(false))
            {
                prunedThrough = (long)(await horizon.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new StoredEventPage(events.AsReadOnly(), prunedThrough);
        }
    }

    /// <summary>Deletes events the server wrote more than <paramref name="retention"/> ago and raises the horizon.</summary>
    public async Task<int> PruneAsync(NpgsqlConnection connection, TimeSpan retention, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(_prune, connection);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Interval, TypedValue = retention });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
