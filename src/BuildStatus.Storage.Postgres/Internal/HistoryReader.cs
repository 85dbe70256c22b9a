using System.Text;
using Npgsql;
using static BuildStatus.Storage.Postgres.Internal.Parameters;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// The read side: queries on a pooled connection that the caller opens and owns for one call. Rows are read by hand
/// from the data reader (a few columns each, decoded through <see cref="PgText"/> and <see cref="PgTime"/>). Stateless
/// apart from the SQL text.
/// </summary>
internal sealed class HistoryReader
{
    private readonly string _s;
    private readonly string _buildColumns;
    private readonly string _buildId;

    public HistoryReader(string schema)
    {
        _s = "\"" + schema + "\"";
        _buildColumns =
            "SELECT b.id, r.name, b.number, b.host_name, b.reason, b.worker_name, b.started_at, b.finished_at, b.result, b.state_text, b.changes, b.responsible_users "
            + $"FROM {_s}.builds b JOIN {_s}.builders r ON r.id = b.builder_id";
        _buildId = $"(SELECT b.id FROM {_s}.builds b WHERE b.builder_id = (SELECT r.id FROM {_s}.builders r WHERE r.name = $1) AND b.number = $2)";
    }

    public async Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(NpgsqlConnection connection, string? name, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand($"SELECT name, description, tags FROM {_s}.builders" + (name is null ? string.Empty : " WHERE name = $1"), connection);
        if (name is not null)
        {
            command.Parameters.Add(Text(name));
        }

        var builders = new List<StoredBuilder>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                builders.Add(new StoredBuilder(PgText.Decode(reader.GetString(0)), NullableText(reader, 1), Json.ReadStrings(reader.GetString(2))));
            }
        }

        builders.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return builders;
    }

    public async Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(NpgsqlConnection connection, string? name, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand($"SELECT name, host, info, is_connected, last_seen FROM {_s}.workers" + (name is null ? string.Empty : " WHERE name = $1"), connection);
        if (name is not null)
        {
            command.Parameters.Add(Text(name));
        }

        var workers = new List<StoredWorker>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                workers.Add(new StoredWorker(
                    PgText.Decode(reader.GetString(0)),
                    NullableText(reader, 1),
                    Json.ReadStringMap(reader.GetString(2)),
                    reader.GetBoolean(3),
                    NullableTime(reader, 4)));
            }
        }

        workers.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return workers;
    }

    public Task<List<StoredBuild>> GetBuildAsync(NpgsqlConnection connection, BuildKey key, CancellationToken cancellationToken) =>
        LoadBuildsAsync(
            connection,
            _buildColumns + $" WHERE b.builder_id = (SELECT id FROM {_s}.builders WHERE name = $1) AND b.number = $2",
            [Text(key.BuilderName), Int(key.Number)],
            cancellationToken);

    public async Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(NpgsqlConnection connection, string hostName, CancellationToken cancellationToken)
    {
        // Served by the partial index ix_builds_unfinished_host; sorted here, by ordinal builder name then number.
        var builds = await LoadBuildsAsync(connection, _buildColumns + " WHERE b.host_name = $1 AND b.finished_at IS NULL", [Text(hostName)], cancellationToken).ConfigureAwait(false);
        builds.Sort((a, b) => string.CompareOrdinal(a.BuilderName, b.BuilderName) is var c and not 0 ? c : a.Number.CompareTo(b.Number));
        return builds;
    }

    public async Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsOfInstanceAsync(NpgsqlConnection connection, long instanceId, CancellationToken cancellationToken)
    {
        // Served by the partial index ix_builds_unfinished_instance; sorted here, by ordinal builder name then number.
        var builds = await LoadBuildsAsync(connection, _buildColumns + " WHERE b.instance_id = $1 AND b.finished_at IS NULL", [Long(instanceId)], cancellationToken).ConfigureAwait(false);
        builds.Sort((a, b) => string.CompareOrdinal(a.BuilderName, b.BuilderName) is var c and not 0 ? c : a.Number.CompareTo(b.Number));
        return builds.ConvertAll(b => b with { InstanceId = instanceId });
    }

    public async Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(NpgsqlConnection connection, BuildQuery query, CancellationToken cancellationToken)
    {
        var parameters = new List<NpgsqlParameter> { Text(query.BuilderName) };
        string Next(NpgsqlParameter p)
        {
            parameters.Add(p);
            return "$" + parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var sql = new StringBuilder(_buildColumns).Append(System.Globalization.CultureInfo.InvariantCulture, $" WHERE b.builder_id = (SELECT id FROM {_s}.builders WHERE name = $1)");
        if (query.BeforeNumber is { } before)
        {
            sql.Append(" AND b.number < ").Append(Next(Int(before)));
        }

        if (query.Results is { } results)
        {
            // Unfinished builds have a NULL result, so they never match.
            sql.Append(" AND b.result = ANY(").Append(Next(ShortArray([.. results.Select(r => (short)r)]))).Append(')');
        }

        if (query.Finished is { } finished)
        {
            sql.Append(finished ? " AND b.finished_at IS NOT NULL" : " AND b.finished_at IS NULL");
        }

        if (query.StartedAtOrAfter is { } from)
        {
            sql.Append(" AND b.started_at >= ").Append(Next(Long(PgTime.ToBound(from))));
        }

        if (query.StartedBefore is { } to)
        {
            sql.Append(" AND b.started_at < ").Append(Next(Long(PgTime.ToBound(to))));
        }

        if (query.Branch is { } branch)
        {
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $" AND EXISTS (SELECT 1 FROM {_s}.source_stamps s WHERE s.build_id = b.id AND s.branch = ").Append(Next(Text(branch))).Append(')');
        }

        if (query.Revision is { } revision)
        {
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $" AND EXISTS (SELECT 1 FROM {_s}.source_stamps s WHERE s.build_id = b.id AND s.revision = ").Append(Next(Text(revision))).Append(')');
        }

        if (query.PropertyName is { } propertyName)
        {
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $" AND EXISTS (SELECT 1 FROM {_s}.build_properties p WHERE p.build_id = b.id AND p.name = ").Append(Next(Text(propertyName)));
            if (query.PropertyValue is { } propertyValue)
            {
                sql.Append(" AND p.value = ").Append(Next(Text(propertyValue)));
            }

            sql.Append(')');
        }

        sql.Append(" ORDER BY b.number DESC LIMIT ").Append(Next(Int(query.Limit)));
        return await LoadBuildsAsync(connection, sql.ToString(), [.. parameters], cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredStep>> GetStepsAsync(NpgsqlConnection connection, BuildKey build, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(
            $"SELECT number, name, state_text, started_at, finished_at, result, urls, statistics, is_hidden FROM {_s}.steps WHERE build_id = {_buildId} ORDER BY number",
            connection);
        command.Parameters.Add(Text(build.BuilderName));
        command.Parameters.Add(Int(build.Number));
        var steps = new List<StoredStep>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            steps.Add(new StoredStep(
                new StepKey(build.BuilderName, build.Number, reader.GetInt32(0)),
                PgText.Decode(reader.GetString(1)),
                PgText.Decode(reader.GetString(2)),
                NullableTime(reader, 3),
                NullableTime(reader, 4),
                reader.IsDBNull(5) ? null : (BuildResult)reader.GetInt16(5),
                Json.ReadUrls(reader.GetString(6)),
                Json.ReadNumberMap(reader.GetString(7)),
                reader.GetBoolean(8)));
        }

        return steps;
    }

    public async Task<IReadOnlyList<StoredLog>> GetLogsAsync(NpgsqlConnection connection, StepKey step, int? logNumber, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(
            $"SELECT number, name, kind, is_finished, line_count, byte_count FROM {_s}.logs WHERE build_id = {_buildId} AND step_number = $3"
            + (logNumber is null ? " ORDER BY number" : " AND number = $4"),
            connection);
        command.Parameters.Add(Text(step.BuilderName));
        command.Parameters.Add(Int(step.BuildNumber));
        command.Parameters.Add(Int(step.StepNumber));
        if (logNumber is { } n)
        {
            command.Parameters.Add(Int(n));
        }

        var logs = new List<StoredLog>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            logs.Add(new StoredLog(
                new LogKey(step.BuilderName, step.BuildNumber, step.StepNumber, reader.GetInt32(0)),
                PgText.Decode(reader.GetString(1)),
                (LogKind)reader.GetInt16(2),
                reader.GetBoolean(3),
                reader.GetInt64(4),
                reader.GetInt64(5)));
        }

        return logs;
    }

    public async Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(NpgsqlConnection connection, LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken)
    {
        var lines = new List<LogLine>();
        if (maxLines == 0)
        {
            return lines;
        }

        var end = firstLine > long.MaxValue - maxLines ? long.MaxValue : firstLine + maxLines;

        // Seek to the chunk holding firstLine (the last one starting at or before it) on the (log_id, first_line)
        // primary key, then read forward only the chunks that start before the end of the range.
        using var command = new NpgsqlCommand(
            $"WITH l AS (SELECT id FROM {_s}.logs WHERE build_id = {_buildId} AND step_number = $3 AND number = $4) "
            + $"SELECT c.first_line, c.codec, c.content FROM {_s}.log_chunks c, l WHERE c.log_id = l.id "
            + $"AND c.first_line >= coalesce((SELECT max(x.first_line) FROM {_s}.log_chunks x WHERE x.log_id = l.id AND x.first_line <= $5), 0) "
            + "AND c.first_line < $6 ORDER BY c.first_line",
            connection);
        command.Parameters.Add(Text(log.BuilderName));
        command.Parameters.Add(Int(log.BuildNumber));
        command.Parameters.Add(Int(log.StepNumber));
        command.Parameters.Add(Int(log.LogNumber));
        command.Parameters.Add(Long(firstLine));
        command.Parameters.Add(Long(end));
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var chunkFirst = reader.GetInt64(0);
            var codec = (PostgresLogCompression)reader.GetInt16(1);
            var content = reader.GetFieldValue<byte[]>(2);
            LogChunkCodec.Decode(codec, content, chunkFirst, firstLine, end, lines);
        }

        return lines;
    }

    private async Task<List<StoredBuild>> LoadBuildsAsync(NpgsqlConnection connection, string sql, NpgsqlParameter[] parameters, CancellationToken cancellationToken)
    {
        var rows = new List<(long Id, StoredBuild Build)>();
        using (var command = new NpgsqlCommand(sql, connection))
        {
            command.Parameters.AddRange(parameters);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((reader.GetInt64(0), new StoredBuild(
                    PgText.Decode(reader.GetString(1)),
                    reader.GetInt32(2),
                    PgText.Decode(reader.GetString(3)),
                    NullableText(reader, 4),
                    [],
                    Json.ReadChanges(reader.GetString(10)),
                    Json.ReadStrings(reader.GetString(11)),
                    NullableText(reader, 5),
                    new Dictionary<string, PropertyValue>(StringComparer.Ordinal),
                    PgTime.FromStored(reader.GetInt64(6)),
                    NullableTime(reader, 7),
                    PgText.Decode(reader.GetString(9)),
                    reader.IsDBNull(8) ? null : (BuildResult)reader.GetInt16(8))));
            }
        }

        if (rows.Count == 0)
        {
            return [];
        }

        // Stamps and properties of every build in one round trip: two statements in one batch.
        var ids = rows.Select(r => r.Id).ToArray();
        var stamps = rows.ToDictionary(r => r.Id, _ => new List<SourceStamp>());
        var properties = rows.ToDictionary(r => r.Id, _ => new Dictionary<string, PropertyValue>(StringComparer.Ordinal));
        var batch = new NpgsqlBatch(connection);
        await using (batch.ConfigureAwait(false))
        {
            var stampCommand = new NpgsqlBatchCommand($"SELECT build_id, repository, branch, revision, project, codebase FROM {_s}.source_stamps WHERE build_id = ANY($1) ORDER BY build_id, position");
            stampCommand.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint, Value = ids });
            var propertyCommand = new NpgsqlBatchCommand($"SELECT build_id, name, value, source FROM {_s}.build_properties WHERE build_id = ANY($1)");
            propertyCommand.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint, Value = ids });
            batch.BatchCommands.Add(stampCommand);
            batch.BatchCommands.Add(propertyCommand);
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                stamps[reader.GetInt64(0)].Add(new SourceStamp(PgText.Decode(reader.GetString(1)), NullableText(reader, 2), NullableText(reader, 3), NullableText(reader, 4), NullableText(reader, 5)));
            }

            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                properties[reader.GetInt64(0)][PgText.Decode(reader.GetString(1))] = new PropertyValue(PgText.Decode(reader.GetString(2)), PgText.Decode(reader.GetString(3)));
            }
        }

        return rows.ConvertAll(r => r.Build with { SourceStamps = stamps[r.Id], Properties = properties[r.Id] });
    }

    private static string? NullableText(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : PgText.Decode(reader.GetString(ordinal));

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : PgTime.FromStored(reader.GetInt64(ordinal));
}
