using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// The page's files, embedded in this assembly and served under content-hashed names (<c>app.3f2a9c1b07de.js</c>)
/// with an ETag and a year of immutable caching; the HTML shell that names them is revalidated on every load.
/// </summary>
/// <remarks>Built once when the endpoints are mapped; immutable afterwards except the shell cache (thread-safe).</remarks>
internal sealed class StaticAssets
{
    private const string ResourcePrefix = "BuildStatus.AspNetCore.wwwroot.";

    private readonly Dictionary<string, Asset> _byHashedName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _hashedNames = new(StringComparer.Ordinal);
    private readonly string _shellTemplate;
    private readonly string _title;

    // Rendered shells by base path (the request's PathBase plus the group prefix): few distinct values.
    private readonly ConcurrentDictionary<string, Asset> _shells = new(StringComparer.Ordinal);

    public StaticAssets(string title)
    {
        _title = title;
        var assembly = typeof(StaticAssets).Assembly;
        string? shell = null;
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[ResourcePrefix.Length..];
            var bytes = Read(assembly, resource);
            if (name == "index.html")
            {
                shell = Encoding.UTF8.GetString(bytes);
                continue;
            }

            var hash = Hash(bytes);
            var dot = name.LastIndexOf('.');
            var hashedName = string.Concat(name.AsSpan(0, dot), ".", hash, name.AsSpan(dot));
            _byHashedName[hashedName] = new Asset(bytes, ContentType(name), $"\"{hash}\"");
            _hashedNames[name] = hashedName;
        }

        _shellTemplate = shell ?? throw new InvalidOperationException("The page shell (wwwroot/index.html) is missing from the BuildStatus.AspNetCore assembly.");
    }

    /// <summary>Gets the total size of the page's own files (the shell and every asset), in bytes.</summary>
    public long TotalBytes => _byHashedName.Values.Sum(a => (long)a.Bytes.Length) + Encoding.UTF8.GetByteCount(_shellTemplate);

    /// <summary>Gets the hashed name of an asset (<c>app.js</c> to <c>app.3f2a9c1b07de.js</c>).</summary>
    public string HashedName(string name) => _hashedNames[name];

    public IResult Serve(HttpContext http, string hashedName)
    {
        if (!_byHashedName.TryGetValue(hashedName, out var asset))
        {
            return ApiEndpoints.NotFound("No such asset.");
        }

        http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        return Send(http, asset);
    }

    public IResult ServeShell(HttpContext http, string prefix)
    {
        var basePath = string.Concat(http.Request.PathBase.Value, prefix);
        var shell = _shells.Count < 64
            ? _shells.GetOrAdd(basePath, RenderShell)
            : _shells.TryGetValue(basePath, out var cached) ? cached : RenderShell(basePath);
        http.Response.Headers.CacheControl = "no-cache";
        return Send(http, shell);
    }

    private static IResult Send(HttpContext http, Asset asset)
    {
        http.Response.Headers.ETag = asset.ETag;
        var ifNoneMatch = http.Request.Headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0 && EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)
            && tags.Any(t => t.Tag.Equals(asset.ETag, StringComparison.Ordinal) || t.Equals(EntityTagHeaderValue.Any)))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(asset.Bytes, asset.ContentType);
    }

    private Asset RenderShell(string basePath)
    {
        var html = HtmlEncoder.Default;
        var text = _shellTemplate
            .Replace("%BASE%", html.Encode(basePath), StringComparison.Ordinal)
            .Replace("%TITLE%", html.Encode(_title), StringComparison.Ordinal)
            .Replace("%CSS%", html.Encode($"{basePath}/assets/{HashedName("app.css")}"), StringComparison.Ordinal)
            .Replace("%JS%", html.Encode($"{basePath}/assets/{HashedName("app.js")}"), StringComparison.Ordinal)
            .Replace("%ICON%", html.Encode($"{basePath}/assets/{HashedName("favicon.svg")}"), StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(text);
        return new Asset(bytes, "text/html; charset=utf-8", $"\"{Hash(bytes)}\"");
    }

    private static byte[] Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
