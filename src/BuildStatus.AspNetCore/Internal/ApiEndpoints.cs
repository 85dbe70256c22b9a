using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using BuildStatus.Storage;
using Microsoft.AspNetCore.Routing;

namespace BuildStatus.AspNetCore.Internal;

#pragma warning disable CA1859 // Handlers return IResult on purpose: one shape for their JSON, 400 and 404 answers.

/// <summary>The read-only JSON API and the two streams. Every handler only reads.</summary>
internal static class ApiEndpoints
{
    private const string LogPath = "api/builders/{builder}/builds/{number}/steps/{step}/logs/{log}";

    /// <summary>The most log lines one search request looks at; the answer says where to go on.</summary>
    private const int SearchScanLimit = 200_000;

    private const int SearchPage = 5000;

    private const int MaxGridBuilds = 500;

    /// <summary>The most running builds <c>api/hosts</c> answers with, whatever <c>limit</c> says.</summary>
    private const int MaxHostBuilds = 1000;

    /// <summary>The most instances <c>api/hosts</c> lists.</summary>
    private const int MaxHosts = 1000;

    public static void Map(RouteGroupBuilder group, WebContext web)
    {
        group.MapGet("api/status", Handler(http => GetStatus(web)));
        group.MapGet("api/builders", Handler(http => GetBuildersAsync(web, http.RequestAborted)));
        group.MapGet("api/builders/{builder}", Handler(http => GetBuilderAsync(web, http)));
        group.MapGet("api/builders/{builder}/builds", Handler(http => GetBuildsOfBuilderAsync(web, http)));
        group.MapGet("api/builds", Handler(http => GetGridAsync(web, http)));
        group.MapGet("api/builders/{builder}/builds/{number}", Handler(http => GetBuildAsync(web, http)));
        group.MapGet(LogPath, Handler(http => GetLogAsync(web, http)));
        group.MapGet(LogPath + "/lines", Handler(http => GetLogLinesAsync(web, http)));
        group.MapGet(LogPath + "/raw", Handler(http => GetRawLogAsync(web, http)));
        group.MapGet(LogPath + "/search", Handler(http => SearchLogAsync(web, http)));
        group.MapGet(LogPath + "/follow", Handler(http => FollowLogAsync(web, http)));
        group.MapGet("api/workers", Handler(http => GetWorkersAsync(web, http.RequestAborted)));
        group.MapGet("api/requests", Handler(http => GetRequests(web)));
        group.MapGet("api/hosts", Handler(http => GetHostsAsync(web, http)));
        group.MapGet("api/stream", Handler(http => Stream(web, http)));
        group.MapGet("api/{**rest}", Handler(http => NotFound("No such API route.")));
    }

    // A handler returns its result, so the endpoint writes it (a lambda returning Task would bind as a RequestDelegate).
    internal static Delegate Handler(Func<HttpContext, Task<IResult>> handler) => handler;

    internal static Delegate Handler(Func<HttpContext, IResult> handler) => handler;

    internal static IResult BadRequest(string message) => TypedResults.Json(new ErrorDto(message), WebJsonContext.Default.ErrorDto, statusCode: StatusCodes.Status400BadRequest);

    internal static IResult NotFound(string message) => TypedResults.Json(new ErrorDto(message), WebJsonContext.Default.ErrorDto, statusCode: StatusCodes.Status404NotFound);

    private static IResult GetStatus(WebContext web)
    {
        // The id first: an event after it may already show in the snapshot, and applying it again is harmless.
        var lastEventId = web.Journal.LastEventId;
        var builders = web.Status.Builders.Select(Dto.Builder).ToArray();
        return TypedResults.Json(new StatusDto(web.Status.HostName, lastEventId, web.Time.GetUtcNow(), builders), WebJsonContext.Default.StatusDto);
    }

    private static async Task<IResult> GetBuildersAsync(WebContext web, CancellationToken cancellationToken)
    {
        var live = web.Status.Builders;
        var result = live.Select(Dto.Builder).ToList();
        var names = new HashSet<string>(live.Select(b => b.Name), StringComparer.Ordinal);
        foreach (var stored in await web.History.GetBuildersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (names.Add(stored.Name))
            {
                result.Add(Dto.StoredBuilder(stored, []));
            }
        }

        return TypedResults.Json<IReadOnlyList<BuilderDto>>(result, WebJsonContext.Default.IReadOnlyListBuilderDto);
    }

    private static async Task<IResult> GetBuilderAsync(WebContext web, HttpContext http)
    {
        var name = Route(http, "builder");
        if (web.Status.GetBuilder(name) is { } live)
        {
            return TypedResults.Json(Dto.Builder(live), WebJsonContext.Default.BuilderDto);
        }

        var stored = await web.History.GetBuilderAsync(name, http.RequestAborted).ConfigureAwait(false);
        if (stored is null)
        {
            return NotFound($"No builder named '{name}'.");
        }

        var recent = await stored.QueryBuildsAsync(new BuildQuery(name) { Limit = Dto.RecentStrip }, http.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(Dto.StoredBuilder(stored, recent.Builds), WebJsonContext.Default.BuilderDto);
    }

    private static async Task<IResult> GetBuildsOfBuilderAsync(WebContext web, HttpContext http)
    {
        var name = Route(http, "builder");
        var q = new QueryReader(http.Request.Query);
        var query = new BuildQuery(name)
        {
            Limit = q.Int("limit", 50, 1, BuildStatusWebOptions.MaxBuildPageSize),
            BeforeNumber = q.OptionalInt("before", 0, int.MaxValue),
            Results = q.Results("result"),
            Finished = q.Bool("finished"),
            StartedAtOrAfter = q.Time("startedAfter"),
            StartedBefore = q.Time("startedBefore"),
            Branch = q.String("branch"),
            Revision = q.String("revision"),
            PropertyName = q.String("property"),
            PropertyValue = q.String("propertyValue"),
        };
        if (q.Error is { } error)
        {
            return BadRequest(error);
        }

        try
        {
            query.Validate();
        }
        catch (ArgumentException ex)
        {
            return BadRequest(ex.Message);
        }

        if (web.Status.GetBuilder(name) is null && await web.History.GetBuilderAsync(name, http.RequestAborted).ConfigureAwait(false) is null)
        {
            return NotFound($"No builder named '{name}'.");
        }

        var page = await web.History.QueryBuildsAsync(query, http.RequestAborted).ConfigureAwait(false);
        var builds = page.Builds.Select(b => Summary(web, b)).ToArray();
        return TypedResults.Json(new BuildListDto(builds, page.Next?.BeforeNumber), WebJsonContext.Default.BuildListDto);
    }

    private static async Task<IResult> GetGridAsync(WebContext web, HttpContext http)
    {
        var q = new QueryReader(http.Request.Query);
        var limit = q.Int("limit", 50, 1, MaxGridBuilds);
        var before = q.Time("before");
        var only = q.List("builders");
        if (q.Error is { } error)
        {
            return BadRequest(error);
        }

        var lastEventId = web.Journal.LastEventId;
        var names = new SortedSet<string>(web.Status.Builders.Select(b => b.Name), StringComparer.Ordinal);
        foreach (var stored in await web.History.GetBuildersAsync(http.RequestAborted).ConfigureAwait(false))
        {
            names.Add(stored.Name);
        }

        // Newest first across builders: the newest 'limit' of each builder, merged. One call for one page of the grid.
        var all = new List<IPersistentBuild>();
        foreach (var name in names)
        {
            if (only is not null && !only.Contains(name))
            {
                continue;
            }

            var page = await web.History.QueryBuildsAsync(new BuildQuery(name) { Limit = limit, StartedBefore = before }, http.RequestAborted).ConfigureAwait(false);
            all.AddRange(page.Builds);
        }

        var newest = all
            .OrderByDescending(b => b.StartedAt)
            .ThenBy(b => b.BuilderName, StringComparer.Ordinal)
            .ThenByDescending(b => b.Number)
            .Take(limit)
            .Select(b => Summary(web, b))
            .ToArray();
        DateTimeOffset? next = newest.Length == limit ? newest[^1].StartedAt : null;
        return TypedResults.Json(new GridDto(newest, next, lastEventId), WebJsonContext.Default.GridDto);
    }

    private static async Task<IResult> GetBuildAsync(WebContext web, HttpContext http)
    {
        var name = Route(http, "builder");
        if (!TryRouteInt(http, "number", out var number, out var bad))
        {
            return bad;
        }

        var lastEventId = web.Journal.LastEventId;
        var build = await web.Adapter.LoadBuildStatusAsync(name, number, http.RequestAborted).ConfigureAwait(false);
        if (build is null)
        {
            return NotFound($"No build #{number} of builder '{name}'.");
        }

        // Running, but not in this host's RAM: another host runs it, so the page follows it with other hosts' events.
        var otherHost = !build.IsFinished && web.Status.GetBuilder(name)?.CurrentBuilds.Any(b => b.Number == number) != true;
        return TypedResults.Json(Dto.Detail(build, lastEventId) with { OtherHost = otherHost ? true : null }, WebJsonContext.Default.BuildDetailDto);
    }

    private static async Task<IResult> GetLogAsync(WebContext web, HttpContext http)
    {
        var (log, error) = await FindLogAsync(web, http).ConfigureAwait(false);
        return log is null ? error! : TypedResults.Json(Dto.Log(log), WebJsonContext.Default.LogDto);
    }

    private static async Task<IResult> GetLogLinesAsync(WebContext web, HttpContext http)
    {
        var q = new QueryReader(http.Request.Query);
        var from = q.Long("from", 0, 0, long.MaxValue);
        var count = q.Int("count", 200, 1, BuildStatusWebOptions.MaxLogLinesPerRequest);
        if (q.Error is { } error)
        {
            return BadRequest(error);
        }

        var (log, notFound) = await FindLogAsync(web, http).ConfigureAwait(false);
        if (log is null)
        {
            return notFound!;
        }

        var lines = await log.ReadLinesAsync(from, count, http.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(new LogLinesDto(Dto.Log(log), from, lines.Select(Dto.Line).ToArray()), WebJsonContext.Default.LogLinesDto);
    }

    private static async Task<IResult> GetRawLogAsync(WebContext web, HttpContext http)
    {
        var (log, notFound) = await FindLogAsync(web, http).ConfigureAwait(false);
        if (log is null)
        {
            return notFound!;
        }

        // Streamed a page of lines at a time: the whole log is never in memory.
        var response = http.Response;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers.ContentDisposition = $"inline; filename=\"{SafeFileName(log)}\"";
        var writer = new StreamWriter(response.Body, new UTF8Encoding(false), 64 * 1024);
        await using (writer.ConfigureAwait(false))
        {
            long next = 0;
            while (true)
            {
                var lines = await log.ReadLinesAsync(next, 1000, http.RequestAborted).ConfigureAwait(false);
                foreach (var line in lines)
                {
                    await writer.WriteAsync(line.Text).ConfigureAwait(false);
                    await writer.WriteAsync('\n').ConfigureAwait(false);
                }

                if (lines.Count == 0)
                {
                    break;
                }

                next = lines[^1].Number + 1;
                await writer.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            }
        }

        return TypedResults.Empty;
    }

    private static async Task<IResult> SearchLogAsync(WebContext web, HttpContext http)
    {
        var q = new QueryReader(http.Request.Query);
        var text = q.String("q");
        var from = q.Long("from", 0, 0, long.MaxValue);
        var limit = q.Int("limit", 100, 1, 1000);
        if (text is null || text.Length > 200)
        {
            q.Fail("'q' must be 1 to 200 characters of text to look for.");
        }

        if (q.Error is { } error)
        {
            return BadRequest(error);
        }

        var (log, notFound) = await FindLogAsync(web, http).ConfigureAwait(false);
        if (log is null)
        {
            return notFound!;
        }

        var matches = new List<LogLineDto>();
        var next = from;
        var done = false;
        while (matches.Count < limit && next - from < SearchScanLimit)
        {
            var lines = await log.ReadLinesAsync(next, SearchPage, http.RequestAborted).ConfigureAwait(false);
            if (lines.Count == 0)
            {
                done = true;
                break;
            }

            foreach (var line in lines)
            {
                next = line.Number + 1;
                if (line.Text.Contains(text!, StringComparison.OrdinalIgnoreCase))
                {
                    matches.Add(Dto.Line(line));
                    if (matches.Count == limit)
                    {
                        break;
                    }
                }
            }
        }

        return TypedResults.Json(new LogSearchDto(text!, matches, next, done), WebJsonContext.Default.LogSearchDto);
    }

    private static async Task<IResult> FollowLogAsync(WebContext web, HttpContext http)
    {
        var q = new QueryReader(http.Request.Query);
        var from = q.Long("from", 0, 0, long.MaxValue);
        if (q.Error is { } error)
        {
            return BadRequest(error);
        }

        // A reconnecting browser sends the id of the last event it got: the next line number.
        if (http.Request.Headers["Last-Event-ID"] is [{ } lastId] && long.TryParse(lastId, NumberStyles.None, CultureInfo.InvariantCulture, out var resume))
        {
            from = resume;
        }

        var (log, notFound) = await FindLogAsync(web, http).ConfigureAwait(false);
        if (log is null)
        {
            return notFound!;
        }

        return Sse(http, web, token => LogFollowStream.StreamAsync(log, from, web.Options, web.Time, token));
    }

    private static IResult Stream(WebContext web, HttpContext http)
    {
        var q = new QueryReader(http.Request.Query);
        var builders = q.List("builders");
        var build = q.OptionalInt("build", 0, int.MaxValue);
        var kinds = q.Kinds("kinds", StreamFilter.DefaultKinds);
        var after = q.String("after");
        var otherHosts = q.AllHosts("hosts");
        if (build is not null && builders is not { Count: 1 })
        {
            q.Fail("'build' needs exactly one builder in 'builders'.");
        }

        if (q.Error is { } error)
        {
            return BadRequest(error);
        }

        // Where to start: the Last-Event-ID of a reconnect, else 'after' (the id a snapshot gave), else now.
        var journal = web.Journal;
        var resumeFrom = http.Request.Headers["Last-Event-ID"] is [{ } header] && header.Length > 0 ? header : after;
        long? cursor = null;
        if (resumeFrom is not null)
        {
            cursor = journal.TryParseId(resumeFrom, out var sequence) ? sequence : -1;
        }

        var filter = new StreamFilter(builders, build, kinds, otherHosts);
        return Sse(http, web, token => EventStream.StreamAsync(journal, cursor, filter, web.Options, web.Time, token));
    }

    private static SseResult Sse(HttpContext http, WebContext web, Func<CancellationToken, IAsyncEnumerable<IReadOnlyList<SseMessage>>> stream)
        => new(Linked(stream, http.RequestAborted, web.Stopping));

    private static async IAsyncEnumerable<IReadOnlyList<SseMessage>> Linked(
        Func<CancellationToken, IAsyncEnumerable<IReadOnlyList<SseMessage>>> stream,
        CancellationToken requestAborted,
        CancellationToken stopping,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, stopping, cancellationToken);
        await foreach (var batch in stream(linked.Token).ConfigureAwait(false))
        {
            yield return batch;
        }
    }

    private static async Task<IResult> GetHostsAsync(WebContext web, HttpContext http)
    {
        var q = new QueryReader(http.Request.Query);
        var limit = q.Int("limit", 200, 1, MaxHostBuilds);
        if (q.Error is { } error)
        {
            return BadRequest(error);
        }

        // Other hosts' events are taken from before storage is read and before the id is: a stream opened after this
        // id (hosts=all) then misses nothing this answer does not show. The id first, as for api/status.
        web.Journal.KeepOtherHostsForSnapshot();
        var lastEventId = web.Journal.LastEventId;
        var status = web.Status;
        var ownId = status.InstanceId;
        var truncated = false;

        // This host's running builds from RAM (current step, ETA, and what is not committed yet).
        var own = new List<BuildSummaryDto>();
        foreach (var build in status.CurrentBuilds)
        {
            if (own.Count == limit)
            {
                truncated = true;
                break;
            }

            own.Add(Dto.Summary(build) with { HostName = status.HostName });
        }

        var live = status.Instances;
        var hosts = new List<(StoredInstance? Instance, List<BuildSummaryDto> Builds)>();
        hosts.Add((live.FirstOrDefault(i => i.Id == ownId), own));
        foreach (var instance in live)
        {
            if (instance.Id == ownId)
            {
                continue;
            }

            if (hosts.Count == MaxHosts)
            {
                truncated = true;
                break;
            }

            hosts.Add((instance, []));
        }

        // Other live instances by host name: a build's host name tells its instance when exactly one has that name.
        var byName = new Dictionary<string, List<BuildSummaryDto>?>(StringComparer.Ordinal);
        foreach (var (instance, builds) in hosts)
        {
            if (instance is not null && instance.Id != ownId)
            {
                byName[instance.HostName] = byName.ContainsKey(instance.HostName) ? null : builds;
            }
        }

        var otherBuilds = new List<BuildSummaryDto>();
        if (ownId is not null)
        {
            // Only a store with instances tells whose a build is; with another store this host is the only one shown.
            var count = own.Count;
            foreach (var build in await web.History.GetRunningBuildsAsync(http.RequestAborted).ConfigureAwait(false))
            {
                if (status.GetBuilder(build.BuilderName)?.GetBuild(build.Number) is not null)
                {
                    // In this host's RAM: already listed (or finished since it was read).
                    continue;
                }

                // Numbers are unique per builder across hosts, so a build not in RAM is another instance's.
                var named = byName.TryGetValue(build.HostName, out var list);
                if (!named && string.Equals(build.HostName, status.HostName, StringComparison.Ordinal))
                {
                    // This host's name and no other live instance with it: a build of this host that finished and left RAM.
                    continue;
                }

                if (count == limit)
                {
                    truncated = true;
                    break;
                }

                var steps = await build.GetStepsAsync(http.RequestAborted).ConfigureAwait(false);
                var summary = Dto.ClusterSummary(build, steps, status) with { HostName = build.HostName };
                (list ?? otherBuilds).Add(summary);
                count++;
            }
        }

        var answer = hosts.Select(h => h.Instance is { } i
                ? new HostDto(i.HostName, i.Id, i.StartedAt, i.HeartbeatAt, i.ExpiresAt, i.Id == ownId, h.Builds)
                : new HostDto(status.HostName, ownId, null, null, null, true, h.Builds))
            .ToArray();
        return TypedResults.Json(new HostsDto(status.HostName, ownId, lastEventId, web.Time.GetUtcNow(), answer, otherBuilds, truncated), WebJsonContext.Default.HostsDto);
    }

    private static IResult GetRequests(WebContext web)
    {
        var requests = web.Status.Builders.SelectMany(b => b.PendingRequests).OrderBy(r => r.SubmittedAt).Select(Dto.Request).ToArray();
        return TypedResults.Json<IReadOnlyList<RequestDto>>(requests, WebJsonContext.Default.IReadOnlyListRequestDto);
    }

    private static async Task<IResult> GetWorkersAsync(WebContext web, CancellationToken cancellationToken)
    {
        var live = web.Status.Workers;
        var result = live.Select(Dto.Worker).ToList();
        var names = new HashSet<string>(live.Select(w => w.Name), StringComparer.Ordinal);
        foreach (var stored in await web.History.GetWorkersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (names.Add(stored.Name))
            {
                result.Add(Dto.Worker(stored));
            }
        }

        return TypedResults.Json<IReadOnlyList<WorkerDto>>(result, WebJsonContext.Default.IReadOnlyListWorkerDto);
    }

    /// <summary>A build of a list: the live object's summary (current step, ETA) while it is in RAM, else the stored one.</summary>
    private static BuildSummaryDto Summary(WebContext web, IPersistentBuild build)
        => web.Status.GetBuilder(build.BuilderName)?.GetBuild(build.Number) is { } live ? Dto.Summary(live) : Dto.Summary(build);

    private static async Task<(IPersistentLog? Log, IResult? Error)> FindLogAsync(WebContext web, HttpContext http)
    {
        var name = Route(http, "builder");
        if (!TryRouteInt(http, "number", out var number, out var bad)
            || !TryRouteInt(http, "step", out var stepNumber, out bad)
            || !TryRouteInt(http, "log", out var logNumber, out bad))
        {
            return (null, bad);
        }

        // A live log first (its step may not be committed yet), else storage.
        var liveStep = web.Status.GetBuilder(name)?.GetBuild(number)?.Steps.FirstOrDefault(s => s.Number == stepNumber);
        if (liveStep?.Logs.FirstOrDefault(l => l.Number == logNumber) is { } liveLog)
        {
            return (web.Adapter.ToPersistent(liveLog), null);
        }

        var build = await web.History.GetBuildAsync(name, number, http.RequestAborted).ConfigureAwait(false);
        var step = build is null ? null : await build.GetStepAsync(stepNumber, http.RequestAborted).ConfigureAwait(false);
        var logs = step is null ? [] : await step.GetLogsAsync(http.RequestAborted).ConfigureAwait(false);
        var log = logs.FirstOrDefault(l => l.Number == logNumber);
        return log is null
            ? (null, NotFound($"No log {logNumber} of step {stepNumber} of build #{number} of builder '{name}'."))
            : (log, null);
    }

    /// <summary>A route value, with an encoded slash (which the server leaves encoded in paths) decoded.</summary>
    private static string Route(HttpContext http, string name)
        => ((string?)http.Request.RouteValues[name] ?? string.Empty).Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    private static bool TryRouteInt(HttpContext http, string name, out int value, out IResult error)
    {
        var text = Route(http, name);
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            error = null!;
            return true;
        }

        error = BadRequest($"'{name}' must be a whole number from 0 to {int.MaxValue}, not '{(text.Length <= 64 ? text : text[..64])}'.");
        return false;
    }

    private static string SafeFileName(IPersistentLog log)
    {
        var name = $"{log.BuilderName}-{log.BuildNumber}-{log.StepNumber}-{log.Name}.log";
        var safe = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            safe.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        }

        return safe.ToString();
    }
}
