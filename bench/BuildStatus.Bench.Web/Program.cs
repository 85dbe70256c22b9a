// The web load benchmark (docs/BENCHMARKS.md, "Web"). The server (a CI host running W1, with MapBuildStatus) runs in
// this process on 127.0.0.1; the SSE watchers and log followers run in a child process (this program with
// "clients" as its first argument) and reach it over loopback, as browsers would.
//
//   dotnet build -c Release bench/BuildStatus.Bench.Web
//   dotnet bench/BuildStatus.Bench.Web/bin/Release/net10.0/BuildStatus.Bench.Web.dll [--builds 1000] [--pairs 3]
//       [--watchers 200] [--followers 50] [--stalled 20] [--skip-page] [--phases w1,paced,stalled,lines,page]
//       [--kinds buildStarted,...]   (what the watchers ask for; default: what api/stream sends by default)
//       [--rate 50]                  (builds a second in the paced phase)
//       [--stalled-kinds all]        (what the stalled clients ask for; "-" for the default)
//       [--follow pick|builds]      (pick, the default: a follower picks a log afresh from api/status and the build after
//                                    every log; builds: it goes on to the next step's log of the build it follows)
//       [--clients-in-process] [--client-nice N]
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using BuildStatus;
using BuildStatus.Bench;
using BuildStatus.Bench.Web;
using Microsoft.Playwright;

if (args.Length > 0 && args[0] == "clients")
{
    return await ClientProcess.RunChildAsync(args);
}

var c = CultureInfo.InvariantCulture;
var clientsInProcess = false;
var clientNice = 0;
var pacedRate = 50.0;
string? stalledKinds = "all"; // the worst case: every event, log chunks too ("-": what a stream gets by default)
int builds = 1000, pairs = 3, watchers = 200, followers = 50, stalled = 20;
var skipPage = false;
var phases = new HashSet<string>(["w1", "paced", "stalled", "lines", "page"]);
string? watchKinds = null;
var followBuilds = false;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--builds": builds = int.Parse(Next(), c); break;
        case "--pairs": pairs = int.Parse(Next(), c); break;
        case "--watchers": watchers = int.Parse(Next(), c); break;
        case "--followers": followers = int.Parse(Next(), c); break;
        case "--stalled": stalled = int.Parse(Next(), c); break;
        case "--skip-page": skipPage = true; break;
        case "--phases": phases = new HashSet<string>(Next().Split(',')); break;
        case "--kinds": watchKinds = Next(); break;
        case "--follow": followBuilds = Next() switch { "builds" => true, "pick" => false, var m => throw new ArgumentException($"--follow must be builds or pick, not '{m}'.") }; break;
        case "--clients-in-process": clientsInProcess = true; break;
        case "--client-nice": clientNice = int.Parse(Next(), c); break;
        case "--rate": pacedRate = double.Parse(Next(), c); break;
        case "--stalled-kinds": stalledKinds = Next() is var k && k == "-" ? null : k; break;
        case "-h" or "--help":
            Console.WriteLine("""
                BuildStatus.Bench.Web: the web load benchmark (docs/BENCHMARKS.md, "Web"). The server runs W1 with MapBuildStatus
                in this process; the clients run in a child process over loopback.
                  --builds N               W1 builds per phase (default 1000)
                  --pairs N                W1 alone / with clients pairs, alternated (default 3)
                  --watchers N             status-stream watchers (default 200)
                  --followers N            log followers (default 50)
                  --follow pick|builds     pick (default): a follower picks a log afresh from api/status and the build after every
                                           log; builds: it goes on to the next step's log of the build it follows
                  --kinds K,...            what the watchers ask for (default: what api/stream sends by default)
                  --rate R                 builds a second in the paced phase (default 50)
                  --stalled N              clients that never read, in the stalled phase (default 20)
                  --stalled-kinds K|-      what the stalled clients ask for (default all; - for the stream's default)
                  --phases P,...           any of w1,paced,stalled,lines,page (default all)
                  --skip-page              no Chromium phase
                  --clients-in-process     run the clients in this process instead of a child
                  --client-nice N          the child process's nice value
                Exit code: 0 ok, 1 a check failed, 2 bad arguments.
                """);
            return 0;
        default: Console.Error.WriteLine($"unknown argument {args[i]} (--help lists them)"); return 2;
    }
}

Console.WriteLine($"BuildStatus.Bench.Web {string.Join(' ', args)}  ({Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; load average {LoadAverage()})");
using var http = ClientProcess.NewHttpClient();

// ---- 1. W1 alone vs W1 with watchers and followers, alternating ----------------------------------------------
var ratios = new List<double>();
var latency = new Histogram();
long followedLines = 0, resets = 0;
for (var p = 0; p < (phases.Contains("w1") ? pairs : 0); p++)
{
    var order = p % 2 == 0 ? new[] { false, true } : new[] { true, false };
    double alone = 0, loaded = 0;
    foreach (var withClients in order)
    {
        await using var web = await WebHost.StartAsync();
        AddW1Builders(web.Host);
        await W1.RunAsync(web.Host, 100, 0); // warm-up, untimed
        ClientSet? local = null;
        ClientProcess? child = null;
        if (withClients && clientsInProcess)
        {
            local = await ClientSet.StartAsync(http, web.Address, watchers, followers, watchKinds, followBuilds);
        }
        else if (withClients)
        {
            child = await ClientProcess.StartAsync(web.Address, watchers, followers, watchKinds, followBuilds, clientNice);
        }

        var load = LoadAverage();
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var rate = await W1.RunAsync(web.Host, builds, 100);
        var serverCpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var clientNote = "";
        if (withClients)
        {
            var result = local is not null ? await local.StopAsync() : await child!.StopAsync();
            latency.Add(result.Latency);
            followedLines += result.FollowedLines;
            resets += result.Resets;
            loaded = rate;
            clientNote = string.Create(c, $"; clients {(local is null ? "in a child process" : "in this process")}: {result.Latency.Count} deliveries (p99 {result.Latency.Percentile(0.99):0.0} ms), {result.Resets} resets, {result.FollowedLines} follow batches, {result.CpuSeconds:0.0} s CPU");
        }
        else
        {
            alone = rate;
        }

        if (child is not null)
        {
            await child.DisposeAsync();
        }

        Console.WriteLine(string.Create(c, $"pair {p + 1}: W1 {builds} builds {(withClients ? $"with {watchers} watchers + {followers} followers" : "alone")}: {rate:0.0} builds/s, server process {serverCpu:0.0} s CPU over {builds / rate:0.0} s (load {load}){clientNote}"));
    }

    ratios.Add(loaded / alone);
}

ratios.Sort();
if (ratios.Count > 0)
{
    Console.WriteLine(string.Create(c, $"W1 with clients / W1 alone: {string.Join(", ", ratios.Select(r => r.ToString("0.00", c)))} (median {ratios[ratios.Count / 2]:0.00})"));
    Console.WriteLine($"SSE delivery, status change -> client: {latency.Summary()}; {resets} resets");
    Console.WriteLine(string.Create(c, $"log line batches delivered to followers: {followedLines}"));
}

// ---- 1b. The same clients while W1 runs at a steady rate (not flat out): delivery latency when the server has room
if (phases.Contains("paced"))
{
    await using var web = await WebHost.StartAsync();
    AddW1Builders(web.Host);
    await W1.RunAsync(web.Host, 100, 0);
    await using var child = await ClientProcess.StartAsync(web.Address, watchers, followers, watchKinds, followBuilds, clientNice);
    var load = LoadAverage();
    var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    var rate = await W1.RunAsync(web.Host, builds, 100, pacedRate);
    var serverCpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    var result = await child.StopAsync();
    Console.WriteLine(string.Create(c, $"paced W1, {builds} builds at {pacedRate:0} builds/s (achieved {rate:0.0}) with {watchers} watchers + {followers} followers in a child process (load {load}): server process {serverCpu:0.0} s CPU over {builds / rate:0.0} s; SSE delivery {result.Latency.Summary()}; {result.Resets} resets; {result.FollowedLines} follow batches; clients {result.CpuSeconds:0.0} s CPU"));
}

// ---- 2. Memory with stalled clients --------------------------------------------------------------------------
if (phases.Contains("stalled"))
{
    // Against the same run with one such client, too: memory the stalled streams hold in pools (Kestrel's,
    // ArrayPool's) stays in the process after they are gone, so "once they are gone" alone undercounts; and one
    // client that asks for log chunks makes the shared replay buffer keep them, which is not a per-client cost.
    var (baseline, _, basePeak) = await MeasureStalledAsync(1);
    var (held, released, peak) = await MeasureStalledAsync(stalled);
    Console.WriteLine(string.Create(c, $"stalled clients ({(stalledKinds is null ? "api/stream" : $"api/stream?kinds={stalledKinds}")}): managed heap {held:0.0} MB after W1 with {stalled} clients that never read, {released:0.0} MB once they are gone ({(held - released) * 1024 / Math.Max(stalled, 1):0} KiB per client), {baseline:0.0} MB after the same W1 with one ({(held - baseline) * 1024 / Math.Max(stalled - 1, 1):0} KiB per further client); peak working set {peak:0.0} MB ({basePeak:0.0} MB with one)"));
}

// ---- 3. 200 lines from anywhere in a 1M-line log, over HTTP -------------------------------------------------
if (phases.Contains("lines"))
{
    await using var web = await WebHost.StartAsync();
    web.Host.AddBuilder("big");
    var build = await web.Host.StartBuildAsync("big");
    var step = build.AddStep("log");
    step.Start();
    var log = step.AddLog("stdio");
    var text = new StringBuilder();
    for (var i = 0; i < 1_000_000; i++)
    {
        text.Append(c, $"[{i + 1,7}] {WorkloadText.Line(i % 1000, 2, i % WorkloadText.LinesPerLog)[16..]}").Append('\n');
        if (text.Length > 256 * 1024)
        {
            await log.AppendAsync(LogChannel.Stdout, text.ToString());
            text.Clear();
        }
    }

    await log.AppendAsync(LogChannel.Stdout, text.ToString());
    step.Finish(BuildResult.Success);
    await build.FinishAsync();
    var random = new Random(42);
    var ranges = new Histogram();
    for (var k = -100; k < 2000; k++)
    {
        var from = random.Next(0, 1_000_000 - 200);
        var started = Stopwatch.GetTimestamp();
        var body = await http.GetStringAsync(new Uri(web.Address, $"/ci/api/builders/big/builds/{build.Number}/steps/0/logs/0/lines?from={from}&count=200"));
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (!body.Contains(string.Create(c, $"\"n\":{from + 199},"), StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"lines from {from}: the answer lacks line {from + 199}");
            return 1;
        }

        if (k >= 0)
        {
            ranges.Record(ms);
        }
    }

    Console.WriteLine($"200 lines from anywhere in a 1,000,000-line log over HTTP: {ranges.Summary()}");

    // The whole log as text/plain: the server's working set while it streams the log from storage, against before.
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    using var before = Process.GetCurrentProcess();
    var workingSetBefore = before.WorkingSet64 / 1048576.0;
    var heapBefore = GC.GetTotalMemory(forceFullCollection: false) / 1048576.0;
    using var peak = new PeakSampler();
    var downloadStarted = Stopwatch.GetTimestamp();
    using var raw = await http.GetAsync(new Uri(web.Address, $"/ci/api/builders/big/builds/{build.Number}/steps/0/logs/0/raw"), HttpCompletionOption.ResponseHeadersRead);
    raw.EnsureSuccessStatusCode();
    await using var rawBody = await raw.Content.ReadAsStreamAsync();
    var buffer = new byte[64 * 1024];
    long bytes = 0, newlines = 0;
    int read;
    while ((read = await rawBody.ReadAsync(buffer)) > 0)
    {
        bytes += read;
        newlines += buffer.AsSpan(0, read).Count((byte)'\n');
    }

    var seconds = Stopwatch.GetElapsedTime(downloadStarted).TotalSeconds;
    if (newlines != 1_000_000)
    {
        Console.Error.WriteLine($"raw download: {newlines} lines, not 1,000,000");
        return 1;
    }

    Console.WriteLine(string.Create(c, $"raw download of the 1,000,000-line log ({bytes / 1048576.0:0.0} MiB): {seconds:0.00} s ({bytes / 1048576.0 / seconds:0} MiB/s); process working set {workingSetBefore:0} MiB before, peak {peak.PeakMB:0} MiB during (+{peak.PeakMB - workingSetBefore:0.0} MiB); managed heap {heapBefore:0.0} MiB before, {GC.GetTotalMemory(forceFullCollection: false) / 1048576.0:0.0} MiB after"));
}

// ---- 4. The builders page with 500 builders and 50 running builds, in Chromium -------------------------------
if (!skipPage && phases.Contains("page"))
{
    await using var web = await WebHost.StartAsync();
    for (var b = 0; b < 500; b++)
    {
        web.Host.AddBuilder($"builder-{b:D3}", $"builder number {b}", ["bench"]);
    }

    for (var b = 0; b < 500; b++)
    {
        for (var k = 0; k < 3; k++)
        {
            var done = await web.Host.StartBuildAsync($"builder-{b:D3}");
            done.AddStep("compile").Finish(k == 1 ? BuildResult.Failure : BuildResult.Success);
            _ = done.FinishAsync();
        }
    }

    for (var b = 0; b < 50; b++)
    {
        var running = await web.Host.StartBuildAsync($"builder-{b * 10:D3}");
        running.AddStep("compile").Start();
        running.AddStep("test");
    }

    await web.Host.FlushAsync();
    var shell = await http.GetStringAsync(new Uri(web.Address, "/ci/"));
    long weight = Encoding.UTF8.GetByteCount(shell);
    foreach (Match m in Regex.Matches(shell, @"/ci/assets/[^""]+"))
    {
        weight += (await http.GetByteArrayAsync(new Uri(web.Address, m.Value))).Length;
    }

    using var playwright = await Playwright.CreateAsync();
    await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    var times = new List<double>();
    for (var k = -1; k < 5; k++)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var started = Stopwatch.GetTimestamp();
        await page.GotoAsync(new Uri(web.Address, "/ci/").ToString());
        // Locators, not a polled script: the page's CSP (rightly) refuses the eval a polled script needs.
        await page.Locator("tr[data-builder]").Nth(499).WaitForAsync();
        await page.Locator(".running-build").Nth(49).WaitForAsync();
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var rendered = await page.EvaluateAsync<double>("performance.now()");
        if (k >= 0)
        {
            times.Add(ms);
            Console.WriteLine(string.Create(c, $"builders page, 500 builders + 50 running builds: {ms:0} ms from navigation to all rows shown (page clock {rendered:0} ms)"));
        }

        await page.CloseAsync();
    }

    times.Sort();
    Console.WriteLine(string.Create(c, $"builders page render: median {times[times.Count / 2]:0} ms, max {times[^1]:0} ms; the page's own files weigh {weight / 1024.0:0.0} KiB (uncompressed)"));
}

Console.WriteLine($"load average at the end: {LoadAverage()}");
return 0;

// The machine's 1/5/15-minute load averages, so a figure taken on a busy machine says so.
static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static void AddW1Builders(IBuildStatusHost host)
{
    for (var b = 0; b < WorkloadText.BuilderCount; b++)
    {
        host.AddBuilder(WorkloadText.BuilderName(b));
    }
}

// W1 while the clients stall, then the heap with them still connected and again once they are gone.
async Task<(double HeldMB, double ReleasedMB, double PeakMB)> MeasureStalledAsync(int clients)
{
    await using var web = await WebHost.StartAsync();
    AddW1Builders(web.Host);
    await W1.RunAsync(web.Host, 100, 0);
    var sockets = new List<TcpClient>();
    for (var k = 0; k < clients; k++)
    {
        // A client that asks for every event and then never reads: its socket buffers fill, then the server's.
        var socket = new TcpClient { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(web.Address.Host, web.Address.Port);
        var request = Encoding.ASCII.GetBytes($"GET /ci/api/stream{(stalledKinds is null ? "" : $"?kinds={stalledKinds}")} HTTP/1.1\r\nHost: {web.Address.Authority}\r\nAccept: text/event-stream\r\n\r\n");
        await socket.GetStream().WriteAsync(request);
        sockets.Add(socket);
    }

    await Task.Delay(TimeSpan.FromSeconds(1)); // the raw sockets parse nothing; give the server a moment to accept them
    using var sampler = new PeakSampler();
    await W1.RunAsync(web.Host, builds, 100);

    // Let the event journal catch up with what W1 published (its backlog is not the clients'), then measure.
    await Task.Delay(TimeSpan.FromSeconds(3));
    var held = HeapMB();
    foreach (var socket in sockets)
    {
        socket.Client.LingerState = new LingerOption(true, 0); // reset, so the server's pending writes fail at once
        socket.Dispose();
    }

    // The server notices on its next write: publish a little more, then let the streams end.
    await W1.RunAsync(web.Host, 20, 100 + builds);
    await Task.Delay(TimeSpan.FromSeconds(2));
    return (held, HeapMB(), sampler.PeakMB);
}

static double HeapMB()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    return GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
}
