using System.Globalization;

namespace BuildStatus.Bench.Web;

/// <summary>The benchmark's HTTP clients: status stream watchers and log followers.</summary>
internal static class Clients
{
    private static long _openStreams;

    /// <summary>Reads every status event and records how long after the status change it arrived.</summary>
    public static async Task WatchAsync(HttpClient http, Uri url, Histogram latency, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("event: open", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _openStreams);
                    continue;
                }

                var at = line.IndexOf("\"time\":\"", StringComparison.Ordinal);
                if (!line.StartsWith("data: {", StringComparison.Ordinal) || at < 0)
                {
                    continue;
                }

                var end = line.IndexOf('"', at + 8);
                if (DateTimeOffset.TryParse(line.AsSpan(at + 8, end - at - 8), CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
                {
                    latency.Record((DateTimeOffset.UtcNow - time).TotalMilliseconds);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // Stopped.
        }
    }

    /// <summary>Follows one log after another (a running one when it finds one) until stopped.</summary>
    public static async Task FollowAsync(HttpClient http, WebHost web, Action onLine, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // The newest log of a running build, else of a recent one: its stored lines, then live ones if any.
                var builds = web.Host.CurrentBuilds.Concat(web.Host.Builders.SelectMany(b => b.RecentBuilds.Take(1))).ToArray();
                var log = builds.Length == 0 ? null : builds[Random.Shared.Next(builds.Length)].Steps.LastOrDefault()?.Logs.LastOrDefault();
                if (log is null)
                {
                    await Task.Delay(5, cancellationToken);
                    continue;
                }

                var url = new Uri(web.Address, $"/ci/api/builders/{log.Step.Build.Builder.Name}/builds/{log.Step.Build.Number}/steps/{log.Step.Number}/logs/{log.Number}/follow?from=0");
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.StartsWith("event: end", StringComparison.Ordinal))
                    {
                        break;
                    }

                    if (line.StartsWith("data: {\"firstLine\"", StringComparison.Ordinal))
                    {
                        onLine();
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // Stopped.
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"a log follower failed: {e}");
            throw;
        }
    }

    /// <summary>Waits until <paramref name="count"/> more watchers than <paramref name="before"/> have their stream open.</summary>
    public static async Task WaitForWatchersAsync(long before, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Interlocked.Read(ref _openStreams) < before + count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

    public static long OpenStreams => Interlocked.Read(ref _openStreams);
}
