// BuildStatus web sample: the console sample's builds, run continuously, plus the status page.
//
//   dotnet run --project samples/BuildStatus.Web                 # http://127.0.0.1:5080/ci/
//   dotnet run --project samples/BuildStatus.Web -- --port 8080
//
// Ctrl+C stops it cleanly: running builds are finished as cancelled, the write queue is drained, open pages'
// streams end.
using System.Net;
using BuildStatus;
using BuildStatus.Storage.Sqlite;
using BuildStatusSample;
using Microsoft.Data.Sqlite;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(WebSample.Usage);
    return 0;
}

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
try
{
    _ = WebSample.Port(builder.Configuration);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}

// Settings are read when the server and the store are created, so a test host can override them.
builder.WebHost.ConfigureKestrel((context, kestrel) => kestrel.Listen(IPAddress.Loopback, WebSample.Port(context.Configuration)));
builder.Services.AddBuildStatus(b => b.UseStore(sp => new SqliteBuildStore(new SqliteStorageOptions
{
    ConnectionString = new SqliteConnectionStringBuilder { DataSource = WebSample.Database(sp.GetRequiredService<IConfiguration>()) }.ToString(),
    ShareEvents = WebSample.ShareEvents(sp.GetRequiredService<IConfiguration>()),
})));
builder.Services.AddOptions<BuildStatusOptions>().Configure<IConfiguration>((options, configuration) =>
{
    if (WebSample.HostName(configuration) is { } hostName)
    {
        options.HostName = hostName;
    }
});
if (WebSample.RunBuilds(builder.Configuration))
{
    builder.Services.AddHostedService<ContinuousBuilds>();
}

var app = builder.Build();

if (WebSample.RunBuilds(app.Configuration))
{
    // Builders are registered before the host starts, so start-up seeds their ETAs from stored durations.
    var host = app.Services.GetRequiredService<IBuildStatusHost>();
    foreach (var pipeline in Pipelines.All)
    {
        host.AddBuilder(pipeline.Name, pipeline.Description, pipeline.Tags).AttachWorker(host.AddWorker(WebSample.WorkerName));
    }
}

// Everything under /ci: the page, its JSON API and its streams. Local requests only, as no policy is set.
// Options may come from configuration too (appsettings.json or --BuildStatusWeb:HeartbeatInterval=00:00:05).
app.MapBuildStatus("/ci", options => app.Configuration.GetSection("BuildStatusWeb").Bind(options));
app.MapGet("/", () => Results.Redirect("/ci/"));

app.Lifetime.ApplicationStarted.Register(() =>
{
    foreach (var address in app.Urls)
    {
        Console.WriteLine($"BuildStatus page: {address}/ci/   (Ctrl+C to stop)");
    }
});

await app.RunAsync();
Console.WriteLine("Stopped: running builds were recorded as cancelled.");
return 0;

/// <summary>The sample's entry point type, named so that tests can host it (WebApplicationFactory&lt;Program&gt;).</summary>
public partial class Program;
