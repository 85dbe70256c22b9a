using System.Collections.Concurrent;
using System.Net;
using BuildStatus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.AspNetCore.Tests.Support;

/// <summary>
/// The web sample (builds switched off) on a real SQLite database in a temp directory of its own, either on the
/// in-process test server or on Kestrel at 127.0.0.1 on a free port. Deletes the directory when disposed.
/// </summary>
public sealed class WebFactory : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string> _settings;

    public WebFactory(bool kestrel = false, IReadOnlyDictionary<string, string>? settings = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "buildstatus-web-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        _settings = settings ?? new Dictionary<string, string>();
        if (kestrel)
        {
            UseKestrel();
        }
    }

    /// <summary>Gets the temp directory holding the database.</summary>
    public string Directory { get; }

    /// <summary>Gets or sets the peer address the test server reports (loopback unless a test says otherwise).</summary>
    public IPAddress RemoteAddress { get; set; } = IPAddress.Loopback;

    /// <summary>Gets the Last-Event-ID header of every status stream request, in order.</summary>
    public ConcurrentQueue<string?> StreamRequests { get; } = new();

    public IBuildStatusHost Host => Services.GetRequiredService<IBuildStatusHost>();

    /// <summary>Gets the Kestrel address, such as http://127.0.0.1:41234 (starts the server).</summary>
    public Uri ServerAddress
    {
        get
        {
            StartServer();
            var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            return new Uri(addresses.First(a => a.StartsWith("http://127.0.0.1", StringComparison.Ordinal)));
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("db", Path.Combine(Directory, "builds.db"));
        builder.UseSetting("builds", "false");
        builder.UseSetting("port", "0");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services => services.AddSingleton<IStartupFilter>(new PeerFilter(this)));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still open by a finalizing connection; the OS temp cleaner gets it.
        }
    }

    private sealed class PeerFilter(WebFactory factory) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                // The in-process test server has no peer address; Kestrel has the real one.
                context.Connection.RemoteIpAddress ??= factory.RemoteAddress;
                if (context.Request.Path.StartsWithSegments("/ci/api/stream", StringComparison.Ordinal))
                {
                    factory.StreamRequests.Enqueue(context.Request.Headers["Last-Event-ID"].FirstOrDefault());
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
