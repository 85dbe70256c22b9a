// BuildStatus sample host.
//
// A tiny CI host: it configures a few builders, runs their builds as real shell commands, shows live progress
// from the *status* side (RAM + events) and finally prints the *history* side (the SQLite database), which
// outlives the process. Run it twice: the second run's history shows the first run's builds, and build numbers
// continue where they stopped.
//
//   dotnet run --project samples/BuildStatus.Sample                  # 2 builds per builder
//   dotnet run --project samples/BuildStatus.Sample -- --history-only
//   dotnet run --project samples/BuildStatus.Sample -- --otel-console   # spans and metrics on the console too
//   dotnet run --project samples/BuildStatus.Sample -- --help
using BuildStatus;
using BuildStatusSample;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

const int ExitOk = 0, ExitFailed = 1, ExitUsage = 2, ExitInterrupted = 130;

SampleArguments options;
try
{
    options = SampleArguments.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("Run with --help for usage.");
    return ExitUsage;
}

if (options.ShowHelp)
{
    Console.WriteLine(SampleArguments.Usage);
    return ExitOk;
}

var databasePath = Path.GetFullPath(options.DatabasePath);
if (Path.GetDirectoryName(databasePath) is { } directory && !Directory.Exists(directory))
{
    Console.Error.WriteLine($"error: --db: directory '{directory}' does not exist.");
    return ExitUsage;
}

if (options.HistoryOnly && !File.Exists(databasePath))
{
    // Do not create an empty database just to say it is empty.
    Console.WriteLine($"No history at {databasePath} yet. Run the sample without --history-only to make some.");
    return ExitOk;
}

// ---- Configure the Generic Host ------------------------------------------------------------------------------
var builder = Host.CreateApplicationBuilder(args);

// Keep the library's and the host's logging to warnings, so the console shows the sample's own output.
builder.Logging.SetMinimumLevel(LogLevel.Warning);

// One line registers live status, the history service, the write-behind pipeline and a hosted service that
// starts them (schema, recovery of builds a crashed run left unfinished) and drains the write queue on stop.
// SqliteConnectionStringBuilder quotes the path, so file names with spaces or ';' work too.
var connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath }.ToString();
builder.Services.AddBuildStatus(b => b.UseSqlite(connectionString));

// BuildStatus reports through System.Diagnostics only: a span per build and per step on the ActivitySource
// "BuildStatus", and the writer and CI/CD (cicd.*) metrics on the meter "BuildStatus". Any OpenTelemetry exporter
// can take them; this one prints them. Metrics are printed when the host shuts down (and every 10 s before).
if (options.OtelConsole)
{
    builder.Services.AddOpenTelemetry()
        .ConfigureResource(r => r.AddService("BuildStatus.Sample"))
        .WithTracing(t => t.AddSource(BuildStatusDiagnostics.ActivitySourceName).AddConsoleExporter())
        .WithMetrics(m => m
            .AddMeter(BuildStatusDiagnostics.MeterName)
            .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 10_000));
}

using var app = builder.Build();

// The host is the root of the live status (IStatus) and the entry point for driving builds.
var buildStatus = app.Services.GetRequiredService<IBuildStatusHost>();
var history = app.Services.GetRequiredService<IBuildHistory>();
var time = app.Services.GetRequiredService<TimeProvider>();
var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();

// Register builders and the worker before starting, so start-up can seed each builder's ETA from the durations
// of its past builds in the database.
foreach (var pipeline in Pipelines.All)
{
    buildStatus.AddBuilder(pipeline.Name, pipeline.Description, pipeline.Tags);
}

var worker = buildStatus.AddWorker("local-worker");

// Ctrl+C (or SIGTERM) triggers ApplicationStopping once the host has started: it cancels the running builds.
var cancellationToken = lifetime.ApplicationStopping;
var started = false;
try
{
    await app.StartAsync(cancellationToken);
    started = true;
    var historyView = new HistoryView(history, Console.Out);

    if (options.HistoryOnly)
    {
        Console.WriteLine($"History in {databasePath} (newest first):");
        await historyView.PrintAsync(buildsPerBuilder: 10, tailLines: 10, cancellationToken);
        return ExitOk;
    }

    await PrintPreviousRunAsync(history, Console.Out, cancellationToken);

    worker.Connect(Environment.MachineName, new Dictionary<string, string>
    {
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["cores"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });
    foreach (var pipeline in Pipelines.All)
    {
        buildStatus.FindBuilder(pipeline.Name)!.AttachWorker(worker);
    }

    // ---- Run the builds, watching them through status --------------------------------------------------------
    var expectedBuilds = options.Builds * Pipelines.All.Length;
    Console.WriteLine($"Running {options.Builds} build(s) on each of {Pipelines.All.Length} builders ({expectedBuilds} builds); history in {databasePath}");

    using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    var printer = new ProgressPrinter(buildStatus, time, Console.Out);
    var watching = printer.WatchAsync(expectedBuilds, stopWatching.Token);
    var summaries = printer.PrintSummariesAsync(TimeSpan.FromSeconds(2), stopWatching.Token);

    var runStarted = time.GetUtcNow();
    var runner = new BuildRunner(worker, time);
    IReadOnlyList<IBuildStatus> finished;
    try
    {
        // Builders run side by side; each runs its builds one after the other.
        var perBuilder = await Task.WhenAll(Pipelines.All.Select(
            p => runner.RunBuildsAsync(buildStatus.FindBuilder(p.Name)!, p, options.Builds, cancellationToken)));
        finished = perBuilder.SelectMany(b => b).ToArray();

        // Events are delivered asynchronously: give the printer a moment to print the last BuildFinished.
        try
        {
            await printer.AllBuildsPrinted.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (TimeoutException)
        {
            // The console fell behind; the builds themselves are done and stored.
        }
    }
    finally
    {
        await stopWatching.CancelAsync();
        await Task.WhenAll(watching, summaries);
        worker.Disconnect();
    }

    // Every build awaited FinishAsync, so all of them (steps and log lines included) are in the database now.
    var failed = finished.Count(b => b.Result is { } r && !BuildResults.IsPassing(r));
    Console.WriteLine();
    Console.WriteLine($"This run: {finished.Count} builds, {finished.Count - failed} passed, {failed} failed, in {Format.Seconds(time.GetUtcNow() - runStarted)} (failures are part of the demo).");

    // ---- Status vs history ------------------------------------------------------------------------------------
    // Status (IStatus) holds only current builds and a few recent ones per builder, in RAM, for this process.
    // History (IBuildHistory) reads storage: every build of every run, until retention prunes it.
    Console.WriteLine($"History in {databasePath} (newest first, earlier runs included):");
    await historyView.PrintAsync(buildsPerBuilder: 5, tailLines: 10, cancellationToken);
    return ExitOk;
}
catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
{
    Console.WriteLine();
    Console.WriteLine("Interrupted: running builds were recorded as cancelled. Run again to see them in the history.");
    return ExitInterrupted;
}
catch (Exception ex)
{
    Console.Error.WriteLine($"error: the sample failed: {ex}");
    return ExitFailed;
}
finally
{
    if (started)
    {
        // A graceful stop drains the write queue, so nothing accepted is lost even if a build did not await
        // FinishAsync. Not cancellable by the (already cancelled) Ctrl+C token on purpose.
        await app.StopAsync(CancellationToken.None);
    }
}

// One line per builder about what earlier runs left in the database.
static async Task PrintPreviousRunAsync(IBuildHistory history, TextWriter output, CancellationToken cancellationToken)
{
    var parts = new List<string>();
    foreach (var builder in await history.GetBuildersAsync(cancellationToken))
    {
        if (await builder.GetLastFinishedBuildAsync(cancellationToken) is { } last)
        {
            parts.Add($"{builder.Name} #{last.Number} {Format.Result(last.Result)}");
        }
    }

    output.WriteLine(parts.Count == 0
        ? "No stored builds yet: this is the first run on this database."
        : $"Stored builds from earlier runs: last were {string.Join(", ", parts)}. Numbering continues from there.");
}
