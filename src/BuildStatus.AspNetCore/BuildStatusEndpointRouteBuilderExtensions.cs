using BuildStatus;
using BuildStatus.AspNetCore;
using BuildStatus.AspNetCore.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the BuildStatus web API, streams and page.</summary>
public static class BuildStatusEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the read-only JSON API (<c>{prefix}/api/…</c>), the Server-Sent Event streams and the embedded status
    /// page under <paramref name="prefix"/>. Needs <c>services.AddBuildStatus(...)</c>.
    /// </summary>
    /// <param name="endpoints">The application's endpoint route builder (usually the <c>WebApplication</c>).</param>
    /// <param name="prefix">The path everything is mapped under, such as <c>"/ci"</c>; <c>"/"</c> maps at the root.</param>
    /// <param name="configure">Sets <see cref="BuildStatusWebOptions"/>; validated here.</param>
    /// <returns>
    /// The group of every mapped endpoint, to add conventions to: <c>.RequireAuthorization("policy")</c> makes that
    /// policy decide who may see the page instead of the default (local requests only).
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> or <paramref name="prefix"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> does not start with '/' or holds a route parameter or '?', or an option is invalid.</exception>
    /// <exception cref="InvalidOperationException"><c>AddBuildStatus</c> was not called on the services.</exception>
    public static RouteGroupBuilder MapBuildStatus(this IEndpointRouteBuilder endpoints, string prefix = "/ci", Action<BuildStatusWebOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.StartsWith('/') || prefix.AsSpan().IndexOfAny("{}?#") >= 0)
        {
            throw new ArgumentException($"The prefix must be a path starting with '/' without route parameters, '?' or '#', not '{prefix}'.", nameof(prefix));
        }

        var options = new BuildStatusWebOptions();
        configure?.Invoke(options);
        options.Validate();

        var services = endpoints.ServiceProvider;
        var host = services.GetService<IBuildStatusHost>()
            ?? throw new InvalidOperationException("MapBuildStatus needs BuildStatus registered: call services.AddBuildStatus(...) first.");
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("BuildStatus") ?? NullLogger.Instance;
        var lifetime = services.GetService<IHostApplicationLifetime>();

        var journal = new EventJournal(options, time, logger);
        journal.Start(host);
        lifetime?.ApplicationStopped.Register(journal.Dispose);

        var normalized = prefix.TrimEnd('/');
        var web = new WebContext(host, options, journal, new BuildStatus.AspNetCore.Internal.StaticAssets(options.Title), time, logger, lifetime?.ApplicationStopping ?? CancellationToken.None);

        var group = endpoints.MapGroup(normalized.Length == 0 ? "/" : normalized);
        group.AddEndpointFilter(new GroupFilter(web));
        ApiEndpoints.Map(group, web);
        group.MapGet("assets/{file}", ApiEndpoints.Handler(http => web.Assets.Serve(http, (string)http.Request.RouteValues["file"]!)));
        group.MapGet(string.Empty, ApiEndpoints.Handler(http => web.Assets.ServeShell(http, normalized)));
        group.MapGet("{**page}", ApiEndpoints.Handler(http => web.Assets.ServeShell(http, normalized)));
        return group;
    }
}
