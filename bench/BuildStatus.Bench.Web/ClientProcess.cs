using System.Diagnostics;
using System.Globalization;

namespace BuildStatus.Bench.Web;

/// <summary>
/// Runs a <see cref="ClientSet"/> in a child process (this program with <c>clients</c> as its first argument), so
/// that the clients' CPU is not the server's: they talk to the server over loopback as browsers would, and
/// report what they measured on stdout when told to stop on stdin.
/// </summary>
/// <remarks>
/// Protocol, one line each: the child prints <c>ready</c> once every stream is open; the parent writes
/// <c>stop</c>; the child prints <c>result &lt;followedLines&gt; &lt;resets&gt; &lt;cpuSeconds&gt;</c>, then
/// <c>latency &lt;histogram&gt;</c> (<see cref="Histogram.Serialize"/>), and exits.
/// </remarks>
internal sealed class ClientProcess : IAsyncDisposable
{
    private readonly System.Diagnostics.Process _process;

    private ClientProcess(System.Diagnostics.Process process) => _process = process;

    /// <summary>Starts the child and waits until its streams are open.</summary>
    /// <param name="nice">The child's niceness (0: as the server; 19: only what the server leaves).</param>
    public static async Task<ClientProcess> StartAsync(Uri server, int watchers, int followers, string? kinds, bool followBuilds, int nice)
    {
        var dll = typeof(ClientProcess).Assembly.Location;
        var info = new ProcessStartInfo(nice == 0 ? Environment.ProcessPath! : "nice")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (nice != 0)
        {
            info.ArgumentList.Add("-n");
            info.ArgumentList.Add(nice.ToString(CultureInfo.InvariantCulture));
            info.ArgumentList.Add(Environment.ProcessPath!);
        }

        foreach (var arg in new[] { dll, "clients", server.ToString(), watchers.ToString(CultureInfo.InvariantCulture), followers.ToString(CultureInfo.InvariantCulture), kinds ?? "-", followBuilds ? "builds" : "pick" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("The client process did not start.");
        var line = await process.StandardOutput.ReadLineAsync();
        if (line != "ready")
        {
            process.Kill();
            throw new InvalidOperationException($"The client process said '{line}' instead of 'ready'.");
        }

        return new ClientProcess(process);
    }

    public async Task<ClientResult> StopAsync()
    {
        await _process.StandardInput.WriteLineAsync("stop");
        await _process.StandardInput.FlushAsync();
        var result = (await _process.StandardOutput.ReadLineAsync())!.Split(' ');
        var latency = (await _process.StandardOutput.ReadLineAsync())!;
        await _process.WaitForExitAsync();
        var c = CultureInfo.InvariantCulture;
        return new ClientResult(
            Histogram.Deserialize(latency["latency ".Length..]),
            long.Parse(result[1], c),
            long.Parse(result[2], c),
            double.Parse(result[3], c));
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The child's side: <c>clients &lt;server&gt; &lt;watchers&gt; &lt;followers&gt; &lt;kinds or -&gt; &lt;builds|pick&gt;</c>.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        using var http = NewHttpClient();
        var set = await ClientSet.StartAsync(http, new Uri(args[1]), int.Parse(args[2], c), int.Parse(args[3], c), args[4] == "-" ? null : args[4], args[5] == "builds");
        Console.WriteLine("ready");
        while (await Console.In.ReadLineAsync() is { } line && line != "stop")
        {
        }

        var result = await set.StopAsync();
        Console.WriteLine(string.Create(c, $"result {result.FollowedLines} {result.Resets} {result.CpuSeconds:R}"));
        Console.WriteLine($"latency {result.Latency.Serialize()}");
        return 0;
    }

    public static HttpClient NewHttpClient() => new(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
