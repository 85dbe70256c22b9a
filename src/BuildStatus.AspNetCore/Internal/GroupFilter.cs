using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// Runs around every endpoint of the group: local requests only unless a policy or the option says otherwise,
/// the security headers, and no exception details in any response.
/// </summary>
internal sealed partial class GroupFilter(WebContext web) : IEndpointFilter
{
    /// <summary>The page's policy: its own scripts, styles and images only, nothing inline, no framing.</summary>
    public const string ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin";

        if (!web.Options.AllowRemoteRequests && !HasAuthorizationPolicy(http) && !IsLocal(http.Connection))
        {
            return TypedResults.Json(
                new ErrorDto("This BuildStatus page answers local requests only. Set an authorization policy on MapBuildStatus(...) or AllowRemoteRequests to serve others."),
                WebJsonContext.Default.ErrorDto,
                statusCode: StatusCodes.Status403Forbidden);
        }

        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return TypedResults.Empty;
        }
#pragma warning disable CA1031 // Any failure becomes a plain 500: exception details stay in the log, never in a response.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogFailed(web.Logger, ex, http.Request.Path);
            if (http.Response.HasStarted)
            {
                http.Abort();
                return TypedResults.Empty;
            }

            return TypedResults.Json(new ErrorDto("The server failed to answer this request; the cause is in its log."), WebJsonContext.Default.ErrorDto, statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    /// <summary>A loopback peer; with no peer address (an in-process test server) the request is not local.</summary>
    internal static bool IsLocal(ConnectionInfo connection)
    {
        var remote = connection.RemoteIpAddress;
        if (remote is null)
        {
            return false;
        }

        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        return IPAddress.IsLoopback(remote);
    }

    // The host chose who may see the page: authorization (which already ran) decides, not the peer address.
    private static bool HasAuthorizationPolicy(HttpContext http)
        => http.GetEndpoint()?.Metadata is { } metadata
           && (metadata.GetMetadata<IAuthorizeData>() is not null || metadata.GetMetadata<AuthorizationPolicy>() is not null);

    [LoggerMessage(Level = LogLevel.Error, Message = "BuildStatus web request {Path} failed.")]
    private static partial void LogFailed(ILogger logger, Exception exception, PathString path);
}
