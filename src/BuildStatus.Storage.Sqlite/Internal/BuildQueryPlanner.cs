using System.Globalization;
using System.Text;
using Dapper;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// Turns a <see cref="BuildQuery"/> into one SQL statement whose plan is fixed by the query's shape, not left to
/// SQLite's planner (which has no statistics of value frequencies). Stateless.
/// </summary>
/// <remarks>
/// A page is the newest <see cref="BuildQuery.Limit"/> matching builds of one builder. The statement reads candidate
/// builds newest first from one <em>driving</em> index range that already holds only builds matching one filter, and
/// checks the other filters per candidate; it stops when the page is full. So a page costs about
/// <c>Limit / (share of the driving filter's builds matching the others)</c> index steps, and a filter value that
/// is rare, common or absent costs the same when it drives. The driver is the filter most selective by its nature:
/// <see cref="Driver"/> lists them in that order. Every driver reads its index in <c>number DESC</c> order, so no
/// statement sorts, except <see cref="Driver.StartedWithin"/>, chosen only when the time range holds fewer than
/// <see cref="NarrowTimeRange"/> builds of the builder (counted first, at most that many index entries). A branch
/// and a results filter together are weighed by counting both among the builder's newest numbers: a common branch
/// with a rare result drives by the result, a rare branch with a common result by the branch.
/// </remarks>
internal static class BuildQueryPlanner
{
    /// <summary>The most builds of a time range that are read through the start-time index and sorted by number.</summary>
    public const int NarrowTimeRange = 4096;

    private const string Columns =
        "SELECT b.id AS Id, r.name AS BuilderName, b.number AS Number, b.host_name AS HostName, b.reason AS Reason, b.worker_name AS WorkerName, "
        + "b.started_at AS StartedAt, b.finished_at AS FinishedAt, b.result AS Result, b.state_text AS StateText, b.changes AS Changes, "
        + "b.responsible_users AS ResponsibleUsers";

    private const string BuilderId = "(SELECT id FROM builders WHERE name = @BuilderName)";

    /// <summary>The index range a query is driven by, most selective first (the first that applies is used).</summary>
    internal enum Driver
    {
        /// <summary><c>source_stamps (revision, builder_id, number)</c>: a revision is built a few times at most.</summary>
        Revision,

        /// <summary><c>builds (builder_id, number) WHERE finished_at IS NULL</c>: only running or interrupted builds.</summary>
        Unfinished,

        /// <summary><c>build_properties (name, value, builder_id, number)</c>.</summary>
        PropertyValue,

        /// <summary><c>builds (builder_id, started_at)</c>, sorted by number: a time range known to be narrow.</summary>
        StartedWithin,

        /// <summary><c>source_stamps (branch, builder_id, number)</c>.</summary>
        Branch,

        /// <summary><c>builds (builder_id, result, number)</c>, one range per result merged newest first.</summary>
        Results,

        /// <summary><c>build_properties (name, builder_id, number)</c>: builds that have the property, any value.</summary>
        PropertyName,

        /// <summary>
        /// <c>builds (builder_id, number)</c>: the builder's whole history, newest first; with a (wide) time range,
        /// <c>(builder_id, number, started_at)</c>, so builds outside the range are skipped without reading their rows.
        /// </summary>
        Walk,
    }

    /// <summary>Chooses the driver, leaving out <see cref="Driver.StartedWithin"/> (the caller counts the time range first).</summary>
    public static Driver Choose(BuildQuery query) =>
        query.Revision is not null ? Driver.Revision
        : query.Finished == false ? Driver.Unfinished
        : query is { PropertyName: not null, PropertyValue: not null } ? Driver.PropertyValue
        : query.Branch is not null ? Driver.Branch
        : query.Results is { Count: > 0 } ? Driver.Results
        : query.PropertyName is not null ? Driver.PropertyName
        : Driver.Walk;

    /// <summary>Gets whether the query has a time range that could drive it instead of <paramref name="driver"/>.</summary>
    public static bool MayUseTimeRange(BuildQuery query, Driver driver) =>
        driver > Driver.StartedWithin && (query.StartedAtOrAfter is not null || query.StartedBefore is not null);

    /// <summary>
    /// Gets whether the query filters on both a branch and results, where neither is more selective by nature: the
    /// caller then counts both in the newest <see cref="DensityWindow"/> numbers (<see cref="CountBranchAndResults"/>)
    /// and drives by the one with fewer builds there.
    /// </summary>
    public static bool MayDriveByResults(BuildQuery query, Driver driver) => driver == Driver.Branch && query.Results is { Count: > 0 };

    /// <summary>
    /// Counts, among the builder's numbers just below <see cref="BuildQuery.BeforeNumber"/> (or its newest), the
    /// stamps with the query's branch and the builds with one of its results: two index-only range counts of at most
    /// <see cref="DensityWindow"/> entries each.
    /// </summary>
    public static (string Sql, DynamicParameters Parameters) CountBranchAndResults(BuildQuery query)
    {
        var parameters = new DynamicParameters();
        parameters.Add("BuilderName", query.BuilderName);
        parameters.Add("Branch", query.Branch);
        parameters.Add("Before", query.BeforeNumber);
        parameters.Add("Window", DensityWindow);
        parameters.Add("Results", ResultsJson(query.Results!));
        const string Sql =
            "WITH k AS (SELECT id AS builder FROM builders WHERE name = @BuilderName), "
            + "w AS (SELECT builder, coalesce(@Before, (SELECT max(number) + 1 FROM builds WHERE builder_id = k.builder)) AS high FROM k) "
            + "SELECT (SELECT count(*) FROM source_stamps INDEXED BY ix_source_stamps_branch_builder_number "
            + "WHERE branch = @Branch AND builder_id = w.builder AND number >= w.high - @Window AND number < w.high) AS Branch, "
            + "(SELECT count(*) FROM builds INDEXED BY ix_builds_builder_result "
            + "WHERE builder_id = w.builder AND result IN (SELECT value FROM json_each(@Results)) AND number >= w.high - @Window AND number < w.high) AS Results "
            + "FROM w";
        return (Sql, parameters);
    }

    /// <summary>How many of the newest numbers <see cref="CountBranchAndResults"/> looks at.</summary>
    public const int DensityWindow = 1024;

    /// <summary>How many consecutive numbers of a builder share one row of <c>build_start_blocks</c> (migration 0006).</summary>
    public const int StartBlockSize = 1024;

    /// <summary>
    /// Counts the builder's builds in the query's time range, up to <see cref="NarrowTimeRange"/>, and finds its
    /// <em>time ceiling</em>: a number above every build of the builder in the range, from the newest block of
    /// <see cref="StartBlockSize"/> numbers whose lower bound of start times is before the range's end
    /// (<c>build_start_blocks</c>, walked newest first from <see cref="BuildQuery.BeforeNumber"/>'s block). One row:
    /// <c>InRange</c>, and <c>Ceiling</c>, <see langword="null"/> when no block qualifies (then no build is in the range).
    /// </summary>
    /// <remarks>
    /// A wide range is then walked newest first below the ceiling only: a range that ends long before the newest
    /// build skips at most one block of later builds instead of all of them. The bound holds whatever the order of
    /// start times and numbers, so the ceiling never leaves out a matching build; when start times rise with the
    /// numbers it is within <see cref="StartBlockSize"/> of the newest match. A range with no end gets the
    /// builder's newest block: such a range is met by the newest builds when start times rise.
    /// </remarks>
    public static (string Sql, DynamicParameters Parameters) CountTimeRange(BuildQuery query)
    {
        var parameters = new DynamicParameters();
        parameters.Add("BuilderName", query.BuilderName);
        parameters.Add("Cap", NarrowTimeRange);
        parameters.Add("BlockSize", StartBlockSize);
        var sql = new StringBuilder("SELECT (SELECT count(*) FROM (SELECT 1 FROM builds b INDEXED BY ix_builds_builder_started WHERE b.builder_id = ")
            .Append(BuilderId);
        AppendTimeRange(sql, parameters, query);
        sql.Append(" LIMIT @Cap)) AS InRange, (SELECT (t.block + 1) * @BlockSize FROM build_start_blocks t WHERE t.builder_id = ").Append(BuilderId);
        if (query.BeforeNumber is { } before)
        {
            // The block of the highest number the query may return; numbers are positive, so / truncates as it should.
            sql.Append(" AND t.block <= (@BeforeNumber - 1) / @BlockSize");
            parameters.Add("BeforeNumber", before);
        }

        if (query.StartedBefore is not null)
        {
            sql.Append(" AND t.min_started < @To");
        }

        sql.Append(" ORDER BY t.block DESC LIMIT 1) AS Ceiling");
        return (sql.ToString(), parameters);
    }

    /// <summary>Builds the page's statement, driven by <paramref name="driver"/>.</summary>
    public static (string Sql, DynamicParameters Parameters) Build(BuildQuery query, Driver driver)
    {
        var parameters = new DynamicParameters();
        parameters.Add("BuilderName", query.BuilderName);
        parameters.Add("Limit", query.Limit);
        if (driver == Driver.Results && query.Results!.Count > 1)
        {
            // One arm per result, each newest first on its own range; SQLite merges the arms (no sort) and stops at the limit.
            var sql = new StringBuilder();
            var i = 0;
            foreach (var result in query.Results.Order())
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"Result{i++}");
                parameters.Add(name, (int)result);
                sql.Append(sql.Length == 0 ? string.Empty : " UNION ALL ");
                AppendSelect(sql, parameters, query, driver, "@" + name);
            }

            return (sql.Append(" ORDER BY Number DESC LIMIT @Limit").ToString(), parameters);
        }

        var single = new StringBuilder();
        if (driver == Driver.Results)
        {
            parameters.Add("Result0", (int)query.Results!.First());
        }

        AppendSelect(single, parameters, query, driver, "@Result0");
        var order = driver switch
        {
            Driver.Revision or Driver.Branch => "s.number",
            Driver.PropertyValue or Driver.PropertyName => "p.number",
            _ => "b.number",
        };
        return (single.Append(" ORDER BY ").Append(order).Append(" DESC LIMIT @Limit").ToString(), parameters);
    }

    private static void AppendSelect(StringBuilder sql, DynamicParameters parameters, BuildQuery query, Driver driver, string result)
    {
        sql.Append(Columns);
        string number;
        switch (driver)
        {
            case Driver.Revision:
            case Driver.Branch:
                // A build may have several stamps with the same branch (or revision): keep only its first, so it is listed once.
                var column = driver == Driver.Revision ? "revision" : "branch";
                var parameter = driver == Driver.Revision ? "@Revision" : "@Branch";
                sql.Append(" FROM source_stamps s INDEXED BY ix_source_stamps_").Append(column).Append("_builder_number")
                    .Append(" CROSS JOIN builds b INDEXED BY ux_builds_builder_number JOIN builders r ON r.id = b.builder_id")
                    .Append(" WHERE s.").Append(column).Append(" = ").Append(parameter).Append(" AND s.builder_id = ").Append(BuilderId)
                    .Append(" AND b.builder_id = s.builder_id AND b.number = s.number")
                    .Append(" AND NOT EXISTS (SELECT 1 FROM source_stamps f WHERE f.build_id = s.build_id AND f.position < s.position AND +f.")
                    .Append(column).Append(" = s.").Append(column).Append(')');
                number = "s.number";
                break;
            case Driver.PropertyValue:
            case Driver.PropertyName:
                // (build_id, name) is unique, so each build appears once.
                sql.Append(" FROM build_properties p INDEXED BY ")
                    .Append(driver == Driver.PropertyValue ? "ix_build_properties_name_value_builder_number" : "ix_build_properties_name_builder_number")
                    .Append(" CROSS JOIN builds b INDEXED BY ux_builds_builder_number JOIN builders r ON r.id = b.builder_id")
                    .Append(" WHERE p.name = @PropertyName")
                    .Append(driver == Driver.PropertyValue ? " AND p.value = @PropertyValue" : string.Empty)
                    .Append(" AND p.builder_id = ").Append(BuilderId)
                    .Append(" AND b.builder_id = p.builder_id AND b.number = p.number");
                number = "p.number";
                break;
            default:
                var index = driver switch
                {
                    Driver.Unfinished => "ix_builds_builder_unfinished",
                    Driver.StartedWithin => "ix_builds_builder_started",
                    Driver.Results => "ix_builds_builder_result",
                    _ when query.StartedAtOrAfter is not null || query.StartedBefore is not null => "ix_builds_builder_number_started",
                    _ => "ux_builds_builder_number",
                };
                sql.Append(" FROM builds b INDEXED BY ").Append(index).Append(" JOIN builders r ON r.id = b.builder_id WHERE b.builder_id = ").Append(BuilderId);
                number = "b.number";
                break;
        }

        if (query.BeforeNumber is { } before)
        {
            sql.Append(" AND ").Append(number).Append(" < @BeforeNumber");
            parameters.Add("BeforeNumber", before);
        }

        if (driver == Driver.Results)
        {
            sql.Append(" AND b.result = ").Append(result);
        }
        else if (query.Results is { } results)
        {
            // Unfinished builds have a NULL result, so they never match.
            sql.Append(" AND b.result IN (SELECT value FROM json_each(@Results))");
            parameters.Add("Results", ResultsJson(results));
        }

        if (query.Finished is { } finished)
        {
            sql.Append(finished ? " AND b.finished_at IS NOT NULL" : " AND b.finished_at IS NULL");
        }

        AppendTimeRange(sql, parameters, query);

        // Per-candidate checks of a build's own stamps and properties must look the build up by id (the UNIQUE
        // (build_id, ...) indexes). Without statistics SQLite may pick a filter index by the value alone instead,
        // walking every build of that value for each candidate (800,000 stamps of a common branch): a unary + on
        // the value keeps that term out of index selection. The duplicate-stamp check above does the same.
        if (query.Branch is not null && driver != Driver.Branch)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM source_stamps x WHERE x.build_id = b.id AND +x.branch = @Branch)");
        }

        if (query.Branch is { } branch)
        {
            parameters.Add("Branch", branch);
        }

        if (query.Revision is { } revision)
        {
            // The revision always drives when given.
            parameters.Add("Revision", revision);
        }

        if (query.PropertyName is { } propertyName)
        {
            parameters.Add("PropertyName", propertyName);
            if (query.PropertyValue is { } propertyValue)
            {
                parameters.Add("PropertyValue", propertyValue);
            }

            if (driver is not (Driver.PropertyValue or Driver.PropertyName))
            {
                sql.Append(" AND EXISTS (SELECT 1 FROM build_properties x WHERE x.build_id = b.id AND +x.name = @PropertyName")
                    .Append(query.PropertyValue is null ? ")" : " AND +x.value = @PropertyValue)");
            }
        }
    }

    private static string ResultsJson(IReadOnlySet<BuildResult> results) =>
        "[" + string.Join(',', results.Select(r => ((int)r).ToString(CultureInfo.InvariantCulture))) + "]";

    private static void AppendTimeRange(StringBuilder sql, DynamicParameters parameters, BuildQuery query)
    {
        if (query.StartedAtOrAfter is { } from)
        {
            sql.Append(" AND b.started_at >= @From");
            parameters.Add("From", UnixTime.ToBound(from));
        }

        if (query.StartedBefore is { } to)
        {
            sql.Append(" AND b.started_at < @To");
            parameters.Add("To", UnixTime.ToBound(to));
        }
    }
}
