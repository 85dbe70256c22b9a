using Dapper;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// Retention: finds the finished builds a <see cref="RetentionPolicy"/> deletes (or strips of their logs) and deletes
/// their rows child-first in bounded steps, so each transaction stays under
/// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows. Stateless; the caller holds the writer lock around
/// each <see cref="DeleteSome"/> transaction.
/// </summary>
internal static class RetentionPruner
{
    // Child-first deletes of one build; each removes at most @limit rows and is idempotent, so a pass that ran out of
    // budget resumes where it stopped in the next transaction.
    private static readonly string[] BuildDeletes =
    [
        "DELETE FROM log_chunks WHERE id IN (SELECT c.id FROM logs l JOIN log_chunks c ON c.log_id = l.id WHERE l.build_id = @build LIMIT @limit)",
        "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE build_id = @build LIMIT @limit)",
        "DELETE FROM steps WHERE id IN (SELECT id FROM steps WHERE build_id = @build LIMIT @limit)",
        "DELETE FROM source_stamps WHERE id IN (SELECT id FROM source_stamps WHERE build_id = @build LIMIT @limit)",
        "DELETE FROM build_properties WHERE id IN (SELECT id FROM build_properties WHERE build_id = @build LIMIT @limit)",
        "DELETE FROM builds WHERE id = @build AND finished_at IS NOT NULL",
    ];

    private const int LogsDeleteIndex = 1;
    private const int BuildDeleteIndex = 5;

    /// <summary>Finds what <paramref name="policy"/> deletes: whole builds first, then the logs of kept builds.</summary>
    public static Queue<PruneTarget> FindTargets(SqliteConnection connection, RetentionPolicy policy, DateTimeOffset now)
    {
        var targets = new Queue<PruneTarget>();
        var doomed = new HashSet<long>(Select(connection, policy.BuildHorizon, policy.MaxBuildsPerBuilder, now, onlyWithLogs: false));
        foreach (var id in doomed.Order())
        {
            targets.Enqueue(new PruneTarget(id, WholeBuild: true));
        }

        foreach (var id in Select(connection, policy.LogHorizon, policy.MaxLogBuildsPerBuilder, now, onlyWithLogs: true).Where(id => !doomed.Contains(id)).Order())
        {
            targets.Enqueue(new PruneTarget(id, WholeBuild: false));
        }

        return targets;
    }

    /// <summary>
    /// Deletes rows of <paramref name="target"/> within <paramref name="budget"/>, in <paramref name="transaction"/>.
    /// </summary>
    /// <returns>Whether the target is done (otherwise the budget ran out first).</returns>
    public static bool DeleteSome(SqliteConnection connection, SqliteTransaction transaction, PruneTarget target, ref int budget, ref int buildsDeleted, ref int logsDeleted)
    {
        var last = target.WholeBuild ? BuildDeleteIndex : LogsDeleteIndex;
        for (var i = 0; i <= last; i++)
        {
            while (true)
            {
                if (budget == 0)
                {
                    return false;
                }

                var limit = budget;
                var deleted = connection.Execute(BuildDeletes[i], new { build = target.BuildId, limit }, transaction);
                budget -= deleted;
                if (i == BuildDeleteIndex)
                {
                    buildsDeleted += deleted;
                }
                else if (i == LogsDeleteIndex && !target.WholeBuild)
                {
                    logsDeleted += deleted;
                }

                if (deleted < limit || i == BuildDeleteIndex)
                {
                    break;
                }
            }
        }

        return true;
    }

    private static List<long> Select(SqliteConnection connection, TimeSpan? horizon, int? keep, DateTimeOffset now, bool onlyWithLogs)
    {
        var withLogs = onlyWithLogs ? " AND EXISTS (SELECT 1 FROM logs l WHERE l.build_id = x.id)" : string.Empty;
        var ids = new List<long>();
        if (horizon is { } h)
        {
            ids.AddRange(connection.Query<long>(
                "SELECT id FROM builds x WHERE finished_at IS NOT NULL AND finished_at < @cutoff" + withLogs,
                new { cutoff = UnixTime.ToBound(now - h) }));
        }

        if (keep is { } k)
        {
            // The newest k finished builds of each builder (by number) are kept; unfinished ones do not count.
            ids.AddRange(connection.Query<long>(
                "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY builder_id ORDER BY number DESC) AS age FROM builds "
                + "WHERE finished_at IS NOT NULL) x WHERE age > @keep" + withLogs,
                new { keep = k }));
        }

        return ids;
    }

    /// <summary>A build to delete whole, or whose logs to delete.</summary>
    /// <param name="BuildId">The build row's id.</param>
    /// <param name="WholeBuild">Whether the build goes too, or only its logs.</param>
    internal readonly record struct PruneTarget(long BuildId, bool WholeBuild);
}
