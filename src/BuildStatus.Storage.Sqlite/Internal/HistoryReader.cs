using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// The read side: queries on a pooled reader connection that the caller opens and owns for one call. Stateless.
/// Dapper maps the rows (reads are not the bottleneck); log chunks are read by hand to avoid copying blobs twice.
/// </summary>
internal static class HistoryReader
{
    private const string BuildColumns =
        "SELECT b.id AS Id, r.name AS BuilderName, b.number AS Number, b.host_name AS HostName, b.reason AS Reason, b.worker_name AS WorkerName, "
        + "b.started_at AS StartedAt, b.finished_at AS FinishedAt, b.result AS Result, b.state_text AS StateText, b.changes AS Changes, "
        + "b.responsible_users AS ResponsibleUsers FROM builds b JOIN builders r ON r.id = b.builder_id";

    private const string StepColumns =
        "s.number AS Number, s.name AS Name, s.state_text AS StateText, s.started_at AS StartedAt, s.finished_at AS FinishedAt, "
        + "s.result AS Result, s.urls AS Urls, s.statistics AS Statistics, s.is_hidden AS IsHidden";

    private const string LogColumns =
        "l.number AS Number, l.name AS Name, l.kind AS Kind, l.is_finished AS IsFinished, l.line_count AS LineCount, l.byte_count AS ByteCount";

    private const string StepJoin =
        "FROM steps s JOIN builds b ON b.id = s.build_id JOIN builders r ON r.id = b.builder_id WHERE r.name = @BuilderName AND b.number = @BuildNumber";

    private const string LogJoin =
        "FROM logs l JOIN steps s ON s.id = l.step_id JOIN builds b ON b.id = s.build_id JOIN builders r ON r.id = b.builder_id "
        + "WHERE r.name = @BuilderName AND b.number = @BuildNumber AND s.number = @StepNumber";

    public static async Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(SqliteConnection connection, string? name, CancellationToken cancellationToken)
    {
        var sql = "SELECT name AS Name, description AS Description, tags AS Tags FROM builders" + (name is null ? string.Empty : " WHERE name = @name");
        var rows = await connection.QueryAsync<BuilderRow>(new CommandDefinition(sql, new { name }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var builders = rows.Select(r => r.ToRecord()).ToList();
        builders.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return builders;
    }

    public static async Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(SqliteConnection connection, string? name, CancellationToken cancellationToken)
    {
        var sql = "SELECT name AS Name, host AS Host, info AS Info, is_connected AS IsConnected, last_seen AS LastSeen FROM workers"
            + (name is null ? string.Empty : " WHERE name = @name");
        var rows = await connection.QueryAsync<WorkerRow>(new CommandDefinition(sql, new { name }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var workers = rows.Select(r => r.ToRecord()).ToList();
        workers.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return workers;
    }

    public static Task<List<StoredBuild>> GetBuildAsync(SqliteConnection connection, BuildKey key, CancellationToken cancellationToken) =>
        LoadBuildsAsync(
            connection,
            BuildColumns + " WHERE b.builder_id = (SELECT id FROM builders WHERE name = @BuilderName) AND b.number = @Number",
            new { key.BuilderName, key.Number },
            cancellationToken);

    public static async Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(SqliteConnection connection, string hostName, CancellationToken cancellationToken)
    {
        // Served by the partial index ix_builds_unfinished; sorted here because SQLite orders text by UTF-8 bytes, not UTF-16.
        var builds = await LoadBuildsAsync(
            connection,
            BuildColumns + " WHERE b.host_name = @hostName AND b.finished_at IS NULL",
            new { hostName },
            cancellationToken).ConfigureAwait(false);
        builds.Sort((a, b) => string.CompareOrdinal(a.BuilderName, b.BuilderName) is var c and not 0 ? c : a.Number.CompareTo(b.Number));
        return builds;
    }

    public static async Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(SqliteConnection connection, BuildQuery query, CancellationToken cancellationToken)
    {
        var driver = BuildQueryPlanner.Choose(query);
        if (BuildQueryPlanner.MayDriveByResults(query, driver))
        {
            var (countSql, countParameters) = BuildQueryPlanner.CountBranchAndResults(query);
            var counts = await connection.QuerySingleOrDefaultAsync<(long Branch, long Results)>(new CommandDefinition(countSql, countParameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (counts.Results < counts.Branch)
            {
                driver = BuildQueryPlanner.Driver.Results;
            }
        }

        if (BuildQueryPlanner.MayUseTimeRange(query, driver))
        {
            var (countSql, countParameters) = BuildQueryPlanner.CountTimeRange(query);
            var range = await connection.QuerySingleAsync<(long InRange, long? Ceiling)>(new CommandDefinition(countSql, countParameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (range.Ceiling is not { } ceiling)
            {
                // No block of the builder has a build that started in the range.
                return [];
            }

            if (range.InRange < BuildQueryPlanner.NarrowTimeRange)
            {
                driver = BuildQueryPlanner.Driver.StartedWithin;
            }
            else if (ceiling <= int.MaxValue && (query.BeforeNumber is null || ceiling < query.BeforeNumber))
            {
                // A wide range: walk newest first from the ceiling, not from the builder's newest build.
                query = query with { BeforeNumber = (int)ceiling };
            }
        }

        var (sql, parameters) = BuildQueryPlanner.Build(query, driver);
        return await LoadBuildsAsync(connection, sql, parameters, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<IReadOnlyList<StoredStep>> GetStepsAsync(SqliteConnection connection, BuildKey build, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<StepRow>(new CommandDefinition(
            $"SELECT {StepColumns} {StepJoin} ORDER BY s.number",
            new { build.BuilderName, BuildNumber = build.Number },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => r.ToRecord(build)).ToList();
    }

    public static async Task<IReadOnlyList<StoredLog>> GetLogsAsync(SqliteConnection connection, StepKey step, int? logNumber, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<LogRow>(new CommandDefinition(
            $"SELECT {LogColumns} {LogJoin}" + (logNumber is null ? " ORDER BY l.number" : " AND l.number = @LogNumber"),
            new { step.BuilderName, step.BuildNumber, step.StepNumber, LogNumber = logNumber },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => r.ToRecord(step)).ToList();
    }

    public static async Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(SqliteConnection connection, LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken)
    {
        var logId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            $"SELECT l.id {LogJoin} AND l.number = @LogNumber",
            new { log.BuilderName, log.BuildNumber, log.StepNumber, log.LogNumber },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        var lines = new List<LogLine>();
        if (logId is null || maxLines == 0)
        {
            return lines;
        }

        var end = firstLine > long.MaxValue - maxLines ? long.MaxValue : firstLine + maxLines;
        using var command = connection.CreateCommand();

        // Seek to the chunk holding firstLine (the last one starting at or before it) on ux_log_chunks_log_first_line,
        // then read forward only the chunks that start before the end of the range.
        command.CommandText =
            "SELECT first_line, codec, content FROM log_chunks WHERE log_id = $log "
            + "AND first_line >= coalesce((SELECT max(first_line) FROM log_chunks WHERE log_id = $log AND first_line <= $first), 0) "
            + "AND first_line < $end ORDER BY first_line";
        command.Parameters.AddWithValue("$log", logId.Value);
        command.Parameters.AddWithValue("$first", firstLine);
        command.Parameters.AddWithValue("$end", end);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var chunkFirst = reader.GetInt64(0);
            var codec = (LogCompression)reader.GetInt64(1);
            var content = (byte[])reader.GetValue(2);
            LogChunkCodec.Decode(codec, content, chunkFirst, firstLine, end, lines);
        }

        return lines;
    }

    private static async Task<List<StoredBuild>> LoadBuildsAsync(SqliteConnection connection, string sql, object parameters, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<BuildRow>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        if (rows.Count == 0)
        {
            return [];
        }

        var ids = "[" + string.Join(',', rows.Select(r => r.Id.ToString(CultureInfo.InvariantCulture))) + "]";
        var stamps = (await connection.QueryAsync<StampRow>(new CommandDefinition(
            "SELECT build_id AS BuildId, repository AS Repository, branch AS Branch, revision AS Revision, project AS Project, codebase AS Codebase "
            + "FROM source_stamps WHERE build_id IN (SELECT value FROM json_each(@ids)) ORDER BY build_id, position",
            new { ids },
            cancellationToken: cancellationToken)).ConfigureAwait(false)).ToLookup(s => s.BuildId);
        var properties = (await connection.QueryAsync<PropertyRow>(new CommandDefinition(
            "SELECT build_id AS BuildId, name AS Name, value AS Value, source AS Source FROM build_properties WHERE build_id IN (SELECT value FROM json_each(@ids))",
            new { ids },
            cancellationToken: cancellationToken)).ConfigureAwait(false)).ToLookup(p => p.BuildId);

        var builds = new List<StoredBuild>(rows.Count);
        foreach (var row in rows)
        {
            builds.Add(new StoredBuild(
                row.BuilderName,
                (int)row.Number,
                row.HostName,
                row.Reason,
                stamps[row.Id].Select(s => new SourceStamp(s.Repository, s.Branch, s.Revision, s.Project, s.Codebase)).ToList(),
                Json.ReadChanges(row.Changes),
                Json.ReadStrings(row.ResponsibleUsers),
                row.WorkerName,
                properties[row.Id].ToDictionary(p => p.Name, p => new PropertyValue(p.Value, p.Source), StringComparer.Ordinal),
                UnixTime.FromStored(row.StartedAt),
                UnixTime.FromStored(row.FinishedAt),
                row.StateText,
                (BuildResult?)row.Result));
        }

        return builds;
    }
}
