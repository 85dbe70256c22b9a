using Dapper;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// Retention: asks Core's <see cref="RetentionPlanner"/> which finished builds a <see cref="RetentionPolicy"/> deletes
/// (or strips of their logs) and deletes their rows child-first in bounded steps, so each transaction stays under
/// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows. Stateless; the caller holds the writer lock around
/// each <see cref="DeleteSome"/> transaction.
/// </summary>
internal static class RetentionPruner
{
    // Child-first deletes of one build; each removes at most @limit rows and is idempotent, so a pass that ran out of
    // budget resumes where it stopped in the next transaction. Each re-checks, in its own transaction, that the build
    // is still finished, so a target chosen earlier never deletes rows of a build that is (again) unfinished.
    private const string StillFinished = " AND EXISTS (SELECT 1 FROM builds WHERE id = @build AND finished_at IS NOT NULL)";

    private static readonly string[] BuildDeletes =
    [
        "DELETE FROM log_chunks WHERE id IN (SELECT c.id FROM logs l JOIN log_chunks c ON c.log_id = l.id WHERE l.build_id = @build" + StillFinished + " LIMIT @limit)",
        "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE build_id = @build" + StillFinished + " LIMIT @limit)",
        "DELETE FROM steps WHERE id IN (SELECT id FROM steps WHERE build_id = @build" + StillFinished + " LIMIT @limit)",
        "DELETE FROM source_stamps WHERE id IN (SELECT id FROM source_stamps WHERE build_id = @build" + StillFinished + " LIMIT @limit)",
        "DELETE FROM build_properties WHERE id IN (SELECT id FROM build_properties WHERE build_id = @build" + StillFinished + " LIMIT @limit)",
        "DELETE FROM builds WHERE id = @build AND finished_at IS NOT NULL",
    ];

    private const int LogsDeleteIndex = 1;
    private const int BuildDeleteIndex = 5;

    /// <summary>
    /// Finds what <paramref name="policy"/> deletes, as Core's <see cref="RetentionPlanner"/> decides it: streams
    /// every finished build, builder by builder, numbers descending, and keeps the targets only. Whole builds come
    /// first, then the logs of kept builds (only builds that have logs).
    /// </summary>
    public static Queue<PruneTarget> FindTargets(SqliteConnection connection, RetentionPolicy policy, DateTimeOffset now)
    {
        var planner = new RetentionPlanner(policy, now);
        var targets = new Queue<PruneTarget>();
        if (!planner.IsEnabled)
        {
            return targets;
        }

        // With horizons only, the planner lets us read just the builds finished before its bound (rounded up to the
        // next stored microsecond, so no build it would delete is left out; it still compares each one exactly).
        var logs = new List<long>();
        var bound = planner.FinishedBefore is { } before ? UnixTime.ToBound(before) : (long?)null;
        var rows = connection.Query<FinishedBuild>(
            "SELECT b.id AS Id, r.name AS Builder, b.number AS Number, b.finished_at AS FinishedAt, "
            + "CASE WHEN @logs THEN EXISTS (SELECT 1 FROM logs l WHERE l.build_id = b.id) ELSE 0 END AS HasLogs "
            + "FROM builds b JOIN builders r ON r.id = b.builder_id WHERE b.finished_at IS NOT NULL"
            + (bound is null ? string.Empty : " AND b.finished_at < @bound")
            + " ORDER BY b.builder_id, b.number DESC",
            new { logs = policy.LogHorizon is not null || policy.MaxLogBuildsPerBuilder is not null, bound },
            buffered: false);
        foreach (var row in rows)
        {
            switch (planner.Classify(new BuildKey(row.Builder, (int)row.Number), UnixTime.FromStored(row.FinishedAt)))
            {
                case RetentionAction.DeleteBuild:
                    targets.Enqueue(new PruneTarget(row.Id, WholeBuild: true));
                    break;
                case RetentionAction.DeleteLogs when row.HasLogs != 0:
                    logs.Add(row.Id);
                    break;
            }
        }

        foreach (var id in logs)
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

    // One finished build as the retention query reads it (Dapper maps the columns by name).
    private sealed record FinishedBuild(long Id, string Builder, long Number, long FinishedAt, long HasLogs);

    /// <summary>A build to delete whole, or whose logs to delete.</summary>
    /// <param name="BuildId">The build row's id.</param>
    /// <param name="WholeBuild">Whether the build goes too, or only its logs.</param>
    internal readonly record struct PruneTarget(long BuildId, bool WholeBuild);
}
