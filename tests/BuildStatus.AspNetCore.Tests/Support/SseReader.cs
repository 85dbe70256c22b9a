using System.Text;

namespace BuildStatus.AspNetCore.Tests.Support;

/// <summary>One Server-Sent Event as a browser would see it.</summary>
public sealed record SseEvent(string Type, string? Id, string Data, int? Retry);

/// <summary>Reads Server-Sent Events from a response body, the way EventSource parses them.</summary>
public sealed class SseReader : IDisposable
{
    private readonly StreamReader _reader;

    public SseReader(Stream body) => _reader = new StreamReader(body, Encoding.UTF8);

    /// <summary>Reads the next event, or null at the end of the stream.</summary>
    public async Task<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string? type = null, id = null;
        int? retry = null;
        var data = new StringBuilder();
        var any = false;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (any)
                {
                    return new SseEvent(type ?? "message", id, data.ToString(), retry);
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                // A comment (a heartbeat): EventSource ignores it; report it so tests can see it.
                if (!any)
                {
                    return new SseEvent("comment", null, line[1..].TrimStart(' '), null);
                }

                continue;
            }

            any = true;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event": type = value; break;
                case "id": id = value; break;
                case "retry": retry = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "data":
                    if (data.Length > 0)
                    {
                        data.Append('\n');
                    }

                    data.Append(value);
                    break;
            }
        }

        return null;
    }

    /// <summary>Reads events until one matches, failing the test after <paramref name="timeout"/>.</summary>
    public async Task<SseEvent> ReadUntilAsync(Func<SseEvent, bool> match, TimeSpan timeout, List<SseEvent>? seen = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var next = await ReadAsync(cts.Token) ?? throw new AssertionException("The stream ended before the expected event.");
            seen?.Add(next);
            if (match(next))
            {
                return next;
            }
        }
    }

    public void Dispose() => _reader.Dispose();
}
