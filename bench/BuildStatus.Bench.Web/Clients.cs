using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace BuildStatus.Bench.Web;

/// <summary>What a set of clients saw while it ran.</summary>
/// <param name="Latency">Status change to client, for every event every watcher read.</param>
/// <param name="FollowedLines">Log line batches (<c>lines</c> events) the followers read.</param>
/// <param name="Resets">Reset events the watchers got (they fell out of the replay buffer).</param>
/// <param name="CpuSeconds">CPU time of the process the clients ran in, while they ran (in-process: the whole process's).</param>
internal sealed record ClientResult(Histogram Latency, long FollowedLines, long Resets, double CpuSeconds);

/// <summary>
/// The benchmark's HTTP clients: status stream watchers and log followers, run in this process or (the default)
/// in a child process (<see cref="ClientProcess"/>). Only what a browser would know is used: the URLs and the API.
/// </summary>
/// <remarks>
/// A watcher reads raw bytes and parses only what it measures (event boundaries, the event's <c>time</c>), so
/// that the clients' own CPU stays small next to the server's; each keeps its own histogram, merged at the end.
/// </remarks>
internal sealed class ClientSet
{
    private static readonly byte[] TimeField = "\"time\":\""u8.ToArray();
    private static readonly byte[] OpenEvent = "event: open"u8.ToArray();
    private static readonly byte[] ResetEvent = "event: reset"u8.ToArray();
    private static readonly byte[] DataField = "data: {"u8.ToArray();

    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly List<Histogram> _histograms = [];
    private long _opened;
    private long _followedLines;
    private long _resets;
    private TimeSpan _cpuAtStart;

    // True: a follower goes on to the next step's log of the build it follows, as a person watching a build does,
    // and looks for another running build only when that one has no next step. False: it picks a log afresh (the
    // status snapshot, then a build) after every log, which costs the server two API requests per log followed.
    private readonly bool _followBuilds;

    private ClientSet(HttpClient http, Uri baseAddress, bool followBuilds)
    {
        _http = http;
        _base = baseAddress;
        _followBuilds = followBuilds;
    }

    /// <summary>Opens <paramref name="watchers"/> status streams and starts <paramref name="followers"/> log followers; returns once every stream is open.</summary>
    public static async Task<ClientSet> StartAsync(HttpClient http, Uri baseAddress, int watchers, int followers, string? kinds, bool followBuilds)
    {
        var set = new ClientSet(http, baseAddress, followBuilds);
        var url = new Uri(baseAddress, kinds is null ? "/ci/api/stream" : $"/ci/api/stream?kinds={kinds}");
        for (var k = 0; k < watchers; k++)
        {
            var histogram = new Histogram();
            set._histograms.Add(histogram);
            set._tasks.Add(Task.Run(() => set.WatchAsync(url, histogram)));
        }

        for (var k = 0; k < followers; k++)
        {
            set._tasks.Add(Task.Run(set.FollowAsync));
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Interlocked.Read(ref set._opened) < watchers && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        set._cpuAtStart = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        return set;
    }

    public async Task<ClientResult> StopAsync()
    {
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - _cpuAtStart;
        await _stop.CancelAsync();
        await Task.WhenAll(_tasks);
        var latency = new Histogram();
        foreach (var histogram in _histograms)
        {
            latency.Add(histogram);
        }

        return new ClientResult(latency, Interlocked.Read(ref _followedLines), Interlocked.Read(ref _resets), cpu.TotalSeconds);
    }

    private async Task WatchAsync(Uri url, Histogram latency)
    {
        var token = _stop.Token;
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, token);
            await using var stream = await response.Content.ReadAsStreamAsync(token);
            var buffer = new byte[64 * 1024];
            var filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2); // one line longer than the buffer (a merged chunk)
                }

                var read = await stream.ReadAsync(buffer.AsMemory(filled), token);
                if (read == 0)
                {
                    return;
                }

                // One clock reading per read: what arrived together is timed together.
                var now = DateTime.UtcNow.Ticks;
                filled += read;
                var consumed = Lines(buffer.AsSpan(0, filled), now, latency);
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // Stopped.
        }
    }

    // Handles every whole line in the buffer; returns how many bytes it used.
    private int Lines(ReadOnlySpan<byte> buffer, long nowTicks, Histogram latency)
    {
        var at = 0;
        while (true)
        {
            var newline = buffer[at..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                return at;
            }

            var line = buffer.Slice(at, newline);
            at += newline + 1;
            if (line.StartsWith(DataField))
            {
                var time = line.IndexOf(TimeField);
                if (time >= 0 && TryParseTicks(line[(time + TimeField.Length)..], out var ticks))
                {
                    latency.RecordLocal((nowTicks - ticks) / (double)TimeSpan.TicksPerMillisecond);
                }
            }
            else if (line.StartsWith(OpenEvent))
            {
                Interlocked.Increment(ref _opened);
            }
            else if (line.StartsWith(ResetEvent))
            {
                Interlocked.Increment(ref _resets);
            }
        }
    }

    // The stream's times: "2026-12-01T12:03:33.123456+00:00" (fraction and offset as System.Text.Json writes them).
    internal static bool TryParseTicks(ReadOnlySpan<byte> text, out long utcTicks)
    {
        utcTicks = 0;
        var end = text.IndexOf((byte)'"');
        if (end < 19)
        {
            return false;
        }

        text = text[..end];
        static int D(ReadOnlySpan<byte> s, int at, int count)
        {
            var value = 0;
            for (var i = at; i < at + count; i++)
            {
                value = (value * 10) + (s[i] - '0');
            }

            return value;
        }

        try
        {
            var ticks = new DateTime(D(text, 0, 4), D(text, 5, 2), D(text, 8, 2), D(text, 11, 2), D(text, 14, 2), D(text, 17, 2), DateTimeKind.Utc).Ticks;
            var i = 19;
            if (i < text.Length && text[i] == '.')
            {
                long fraction = 0;
                var digits = 0;
                for (i++; i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9'; i++, digits++)
                {
                    fraction = (fraction * 10) + (text[i] - '0');
                }

                for (; digits < 7; digits++)
                {
                    fraction *= 10;
                }

                ticks += fraction;
            }

            if (i < text.Length && text[i] is (byte)'+' or (byte)'-')
            {
                var offset = new TimeSpan(D(text, i + 1, 2), D(text, i + 4, 2), 0).Ticks;
                ticks -= text[i] == '+' ? offset : -offset;
            }

            utcTicks = ticks;
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    // Follows one log after another, found as the page finds them: the status snapshot, then the build's steps.
    private async Task FollowAsync()
    {
        var token = _stop.Token;
        try
        {
            Uri? next = null;
            while (!token.IsCancellationRequested)
            {
                var follow = next ?? await PickLogAsync(token);
                next = null;
                if (follow is null)
                {
                    await Task.Delay(5, token);
                    continue;
                }

                using var response = await _http.GetAsync(follow, HttpCompletionOption.ResponseHeadersRead, token);
                if (!response.IsSuccessStatusCode)
                {
                    // The next step of a build that has none (it finished): find another build.
                    continue;
                }

                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(token), Encoding.UTF8);
                while (await reader.ReadLineAsync(token) is { } line)
                {
                    if (line.AsSpan().StartsWith("event: end", StringComparison.Ordinal))
                    {
                        next = _followBuilds ? NextStepLog(follow) : null;
                        break;
                    }

                    if (line.AsSpan().StartsWith("data: {\"firstLine\"", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref _followedLines);
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or TaskCanceledException)
        {
            // Stopped.
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"a log follower failed: {e}");
            throw;
        }
    }

    // …/steps/{s}/logs/{l}/follow?from=0 → …/steps/{s+1}/logs/0/follow?from=0.
    private static Uri NextStepLog(Uri follow)
    {
        var segments = follow.AbsolutePath.Split('/');
        var step = Array.LastIndexOf(segments, "steps") + 1;
        segments[step] = (int.Parse(segments[step], CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        segments[step + 2] = "0";
        return new Uri(follow, string.Join('/', segments) + "?from=0");
    }

    // The newest log of a running build, else of a builder's last finished one.
    private async Task<Uri?> PickLogAsync(CancellationToken token)
    {
        using var status = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_base, "/ci/api/status"), token));
        var builds = new List<(string Builder, int Number)>();
        foreach (var builder in status.RootElement.GetProperty("builders").EnumerateArray())
        {
            foreach (var build in builder.GetProperty("currentBuilds").EnumerateArray())
            {
                builds.Add((build.GetProperty("builder").GetString()!, build.GetProperty("number").GetInt32()));
            }
        }

        if (builds.Count == 0)
        {
            foreach (var builder in status.RootElement.GetProperty("builders").EnumerateArray())
            {
                foreach (var build in builder.GetProperty("recentBuilds").EnumerateArray().Take(1))
                {
                    builds.Add((build.GetProperty("builder").GetString()!, build.GetProperty("number").GetInt32()));
                }
            }
        }

        if (builds.Count == 0)
        {
            return null;
        }

        var (name, number) = builds[Random.Shared.Next(builds.Count)];
        var path = $"/ci/api/builders/{Uri.EscapeDataString(name)}/builds/{number.ToString(CultureInfo.InvariantCulture)}";
        using var detail = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_base, path), token));
        foreach (var step in detail.RootElement.GetProperty("steps").EnumerateArray().Reverse())
        {
            if (step.GetProperty("logs").EnumerateArray().LastOrDefault() is { ValueKind: JsonValueKind.Object } log)
            {
                return new Uri(_base, $"{path}/steps/{step.GetProperty("number").GetInt32()}/logs/{log.GetProperty("number").GetInt32()}/follow?from=0");
            }
        }

        return null;
    }
}
