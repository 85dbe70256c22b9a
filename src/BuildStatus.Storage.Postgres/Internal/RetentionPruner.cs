using Npgsql;
using static BuildStatus.Storage.Postgres.Internal.Parameters;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// Retention: finds the finished builds a <see cref="RetentionPolicy"/> deletes (or strips of their logs) and deletes
/// their rows child-first in bounded steps, so each transaction stays under
/// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows. Stateless apart from the SQL text.
/// </summary>
internal sealed class RetentionPruner
{
    private const int LogsDeleteIndex = 1;
    private const int BuildDeleteIndex = 5;

    // Child-first deletes of one build ($1); each removes at most $2 rows and is idempotent, so a pass that ran out of
    // budget resumes where it stopped in the next transaction.
    private readonly string[] _deletes;
    private readonly string _s;

    public RetentionPruner(string schema)
    {
        _s = "\"" + schema + "\"";
        _deletes =
        [
            $"DELETE FROM {_s}.log_chunks c USING (SELECT x.log_id, x.first_line FROM {_s}.log_chunks x JOIN {_s}.logs l ON l.id = x.log_id WHERE l.build_id = $1 LIMIT $2) d "
                + "WHERE c.log_id = d.log_id AND c.first_line = d.first_line",
            $"DELETE FROM {_s}.logs WHERE id IN (SELECT id FROM {_s}.logs WHERE build_id = $1 LIMIT $2)",
            $"DELETE FROM {_s}.steps s USING (SELECT build_id, number FROM {_s}.steps WHERE build_id = $1 LIMIT $2) d WHERE s.build_id = d.build_id AND s.number = d.number",
            $"DELETE FROM {_s}.source_stamps s USING (SELECT build_id, position FROM {_s}.source_stamps WHERE build_id = $1 LIMIT $2) d WHERE s.build_id = d.build_id AND s.position = d.position",
            $"DELETE FROM {_s}.build_properties p USING (SELECT build_id, name FROM {_s}.build_properties WHERE build_id = $1 LIMIT $2) d WHERE p.build_id = d.build_id AND p.name = d.name",
            $"DELETE FROM {_s}.builds WHERE id = $1 AND finished_at IS NOT NULL AND $2 > 0",
        ];
    }

    /// <summary>Finds what <paramref name="policy"/> deletes: whole builds first, then the logs of kept builds.</summary>
    public async Task<Queue<PruneTarget>> FindTargetsAsync(NpgsqlConnection connection, RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var targets = new Queue<PruneTarget>();
        var doomed = new HashSet<long>(await SelectAsync(connection, policy.BuildHorizon, policy.MaxBuildsPerBuilder, now, onlyWithLogs: false, cancellationToken).ConfigureAwait(false));
        foreach (var id in doomed.Order())
        {
            targets.Enqueue(new PruneTarget(id, WholeBuild: true));
        }

        var logs = await SelectAsync(connection, policy.LogHorizon, policy.MaxLogBuildsPerBuilder, now, onlyWithLogs: true, cancellationToken).ConfigureAwait(false);
        foreach (var id in logs.Where(id => !doomed.Contains(id)).Distinct().Order())
        {
            targets.Enqueue(new PruneTarget(id, WholeBuild: false));
        }

        return targets;
    }

    /// <summary>Deletes rows of <paramref name="target"/> within <paramref name="budget"/>, in the connection's current transaction.</summary>
    /// <returns>Whether the target is done (otherwise the budget ran out first), and the budget left.</returns>
    public async Task<(bool Done, int Budget, int Builds, int Logs)> DeleteSomeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PruneTarget target, int budget)
    {
        int builds = 0, logs = 0;
        var last = target.WholeBuild ? BuildDeleteIndex : LogsDeleteIndex;
        for (var i = 0; i <= last; i++)
        {
            while (true)
            {
                if (budget == 0)
                {
                    return (false, 0, builds, logs);
                }

                var limit = budget;
                using var command = new NpgsqlCommand(_deletes[i], connection, transaction);
                command.Parameters.Add(Long(target.BuildId));
                command.Parameters.Add(Int(limit));
                var deleted = await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                budget -= deleted;
                if (i == BuildDeleteIndex)
                {
                    builds += deleted;
                }
                else if (i == LogsDeleteIndex && !target.WholeBuild)
                {
                    logs += deleted;
                }

                if (deleted < limit || i == BuildDeleteIndex)
                {
                    break;
                }
            }
        }

        return (true, budget, builds, logs);
    }

    private async Task<List<long>> SelectAsync(NpgsqlConnection connection, TimeSpan? horizon, int? keep, DateTimeOffset now, bool onlyWithLogs, CancellationToken cancellationToken)
    {
        var withLogs = onlyWithLogs ? $" AND EXISTS (SELECT 1 FROM {_s}.logs l WHERE l.build_id = x.id)" : string.Empty;
        var ids = new List<long>();
        if (horizon is { } h)
        {
            ids.AddRange(await QueryIdsAsync(connection, $"SELECT id FROM {_s}.builds x WHERE finished_at IS NOT NULL AND finished_at < $1" + withLogs, Long(PgTime.ToBound(now - h)), cancellationToken).ConfigureAwait(false));
        }

        if (keep is { } k)
        {
            // The newest k finished builds of each builder (by number) are kept; unfinished ones do not count.
            ids.AddRange(await QueryIdsAsync(
                connection,
                $"SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY builder_id ORDER BY number DESC) AS age FROM {_s}.builds WHERE finished_at IS NOT NULL) x WHERE age > $1" + withLogs,
                Long(k),
                cancellationToken).ConfigureAwait(false));
        }

        return ids;
    }

    private static async Task<List<long>> QueryIdsAsync(NpgsqlConnection connection, string sql, NpgsqlParameter parameter, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(parameter);
        var ids = new List<long>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    /// <summary>A build to delete whole, or whose logs to delete.</summary>
    /// <param name="BuildId">The build row's id.</param>
    /// <param name="WholeBuild">Whether the build goes too, or only its logs.</param>
    internal readonly record struct PruneTarget(long BuildId, bool WholeBuild);
}
