using BuildStatus.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Bench.Web;

/// <summary>A CI host with the web endpoints on Kestrel at 127.0.0.1 (a free port), on a fresh SQLite file.</summary>
internal sealed class WebHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _path;

    private WebHost(WebApplication app, string path)
    {
        _app = app;
        _path = path;
        Host = app.Services.GetRequiredService<IBuildStatusHost>();
        Address = new Uri(app.Urls.First());
    }

    public IBuildStatusHost Host { get; }

    public Uri Address { get; }

    public static async Task<WebHost> StartAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"buildstatus-webbench-{Guid.NewGuid():N}.db");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddBuildStatus(b => b.UseSqlite($"Data Source={path}").Configure(o => o.HostName = "webbench"));
        var app = builder.Build();
        app.MapBuildStatus("/ci");
        await app.StartAsync();
        return new WebHost(app, path);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(_path + suffix);
        }
    }
}
