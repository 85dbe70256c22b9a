using System.Globalization;
using System.Text;
using BuildStatus;
using BuildStatus.CrashWorker;
using BuildStatus.Storage;
using Microsoft.Extensions.DependencyInjection;

// Usage: BuildStatus.CrashWorker --db PATH --journal PATH --seed N --host NAME [--parallel N] [--builds N]
//                                [--store postgres --pg CONNSTR] [--lease-ms N --heartbeat-ms N]
// Runs a W1-like load (builders, builds, steps, logs) on SQLite (or, with --store postgres, on the PostgreSQL
// database CONNSTR names; --db is then not needed) until killed (or until --builds are done), and journals every
// build whose FinishAsync completed. Prints READY once the host has started (recovery done).
if (args.Length > 0 && args[0] == "--hold")
{
    // --hold DB HOST LEASE_MS HEARTBEAT_MS [--store postgres --pg CONNSTR] (DB is then ignored)
    var extra = ParsePairs(args[5..]);
    return await HoldMode.RunAsync(WorkerStore.From(extra, args[1]), args[2], TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture)), TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture)));
}

var options = ParseArgs(args);
var store = WorkerStore.From(options, options.GetValueOrDefault("--db"));
var leaseMs = int.Parse(options.GetValueOrDefault("--lease-ms", "500"), CultureInfo.InvariantCulture);
var heartbeatMs = int.Parse(options.GetValueOrDefault("--heartbeat-ms", "100"), CultureInfo.InvariantCulture);
var journalPath = options["--journal"];
var seed = int.Parse(options["--seed"], CultureInfo.InvariantCulture);
var hostName = options["--host"];
var parallel = int.Parse(options.GetValueOrDefault("--parallel", "3"), CultureInfo.InvariantCulture);
var maxBuilds = int.Parse(options.GetValueOrDefault("--builds", "1000000"), CultureInfo.InvariantCulture);

var services = new ServiceCollection();
services.AddBuildStatus(b => store.Use(b)
    .Configure(o =>
    {
        o.HostName = hostName;
        o.LogChunkMaxLines = 40;
        o.LogChunkMaxBytes = 4096;
        o.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
        o.RetryMaxDelay = TimeSpan.FromMilliseconds(100);

        // A killed worker's instance must expire quickly: the test recovers its builds after each kill.
        o.HeartbeatInterval = TimeSpan.FromMilliseconds(heartbeatMs);
        o.LeaseDuration = TimeSpan.FromMilliseconds(leaseMs);
    }));
await using var provider = services.BuildServiceProvider();
var host = provider.GetRequiredService<IBuildStatusHost>();
await host.StartAsync();
Console.Out.WriteLine("READY");
Console.Out.Flush();

using var journal = new AckJournal(journalPath);
var remaining = maxBuilds;
var workers = Enumerable.Range(0, parallel).Select(i => Task.Run(() => RunAsync(new Random(seed * 31 + i)))).ToArray();
await Task.WhenAll(workers);
await host.StopAsync();
Console.Out.WriteLine("DONE");
return 0;

async Task RunAsync(Random rng)
{
    while (Interlocked.Decrement(ref remaining) >= 0)
    {
        var builderName = "builder-" + rng.Next(3);
        var builder = host.FindBuilder(builderName) ?? host.AddBuilder(builderName, "crash test 'builder' \"" + builderName + "\"");
        IBuild build;
        try
        {
            build = await builder.StartBuildAsync(new BuildStartInfo { Reason = "crash; DROP TABLE builds; --" });
        }
        catch (BuildStoreException ex)
        {
            // The database is unreachable (a server restart): the number is allocated there, so wait and start again.
            Console.Error.WriteLine($"START FAILED {builder.Name}: {ex.Message}");
            await Task.Delay(100);
            Interlocked.Increment(ref remaining);
            continue;
        }

        try
        {
            await RunBuildAsync(rng, builder, build);
        }
        catch (BuildStoreException ex) when (!build.IsFinished || build.Result != BuildResult.Retry)
        {
            // The finish could not be confirmed while the database was unreachable: the build is not acknowledged (it
            // may still land once the server is back); the load goes on.
            Console.Error.WriteLine($"UNCONFIRMED {builder.Name} #{build.Number}: {ex.Message}");
        }
        catch (Exception ex) when (build is { IsFinished: true, Result: BuildResult.Retry } && build.StateText.StartsWith("lost:", StringComparison.Ordinal))
        {
            // This instance was fenced (its lease ran out, e.g. under load, and another host recovered the build): the
            // build is lost and never acknowledged; the host has registered anew, so the load goes on.
            Console.Error.WriteLine($"LOST {builder.Name} #{build.Number}: {ex.GetType().Name}: {ex.Message}");
        }
    }
}

async Task RunBuildAsync(Random rng, IBuilder builder, IBuild build)
{
    build.SetProperty("seed", seed.ToString(CultureInfo.InvariantCulture));
    var steps = new List<AckStep>();
    var stepCount = rng.Next(1, 4);
    for (var s = 0; s < stepCount; s++)
    {
        var step = build.AddStep($"step {s} 'quoted'");
        step.Start();
        var logs = new List<AckLog>();
        var logCount = rng.Next(1, 3);
        for (var l = 0; l < logCount; l++)
        {
            var log = step.AddLog(l == 0 ? "stdio" : $"log-{l}");
            using var hasher = new LineHasher();
            var lines = rng.Next(0, 250);
            var batch = new StringBuilder();
            for (var i = 0; i < lines; i++)
            {
                var channel = (LogChannel)rng.Next(3);
                var text = MakeLine(rng, i);
                hasher.Add(channel, text);
                if (rng.Next(4) == 0)
                {
                    // Several lines in one append of raw text.
                    await log.AppendAsync(channel, text + "\n");
                }
                else
                {
                    await log.AppendLineAsync(channel, text);
                }

                if (rng.Next(60) == 0)
                {
                    await Task.Delay(rng.Next(1, 10));
                }
            }

            log.Finish();
            logs.Add(new AckLog(log.Number, log.Name, hasher.Count, hasher.Finish()));
        }

        var result = (BuildResult)rng.Next(0, 3);
        step.Finish(result);
        steps.Add(new AckStep(step.Number, step.Name, result.ToString(), logs));
    }

    await build.FinishAsync();
    journal.Append(new AckRecord(builder.Name, build.Number, build.Result!.Value.ToString(), steps));
}

static string MakeLine(Random rng, int i)
{
    switch (rng.Next(8))
    {
        case 0:
            return string.Empty;
        case 1:
            return "ünïcödé ✓ 日本語 🚀 line " + i;
        case 2:
            return new string((char)('a' + rng.Next(26)), rng.Next(500, 3000));
        case 3:
            return "it's a \"quote\"; DELETE FROM log_chunks; -- " + i;
        default:
            return "compiling file " + i + " of " + rng.Next(1000) + " ... ok";
    }
}

static Dictionary<string, string> ParsePairs(string[] args)
{
    var map = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        map[args[i]] = args[i + 1];
    }

    return map;
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var map = ParsePairs(args);
    foreach (var required in new[] { "--journal", "--seed", "--host" })
    {
        if (!map.ContainsKey(required))
        {
            Console.Error.WriteLine($"missing {required}");
            Environment.Exit(2);
        }
    }

    return map;
}
