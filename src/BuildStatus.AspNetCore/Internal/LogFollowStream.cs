using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// One client's log follow stream: <see cref="IPersistentLog.FollowAsync"/> (stored lines, then live ones, no gap,
/// no duplicate) sent as <c>lines</c> events whose id is the next line number, then one <c>end</c> event.
/// </summary>
/// <remarks>State is local to the iterator. Lines ready at once are batched (up to <see cref="MaxLines"/>).</remarks>
internal static class LogFollowStream
{
    public const int MaxLines = 1000;

    private const int MaxBytes = 256 * 1024;

    public static async IAsyncEnumerable<IReadOnlyList<SseMessage>> StreamAsync(
        IPersistentLog log,
        long from,
        BuildStatusWebOptions options,
        TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var lastSent = started;
        yield return [new SseMessage(Id(from), "open") { Retry = options.ReconnectDelay }];

        using var follow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lines = log.FollowAsync(from, follow.Token).GetAsyncEnumerator(follow.Token);
        Task<bool>? move = null;
        var batch = new List<LogLineDto>();
        var batchBytes = 0;
        var next = from;
        try
        {
            while (true)
            {
                move ??= lines.MoveNextAsync().AsTask();
                if (!move.IsCompleted)
                {
                    if (batch.Count > 0)
                    {
                        // Nothing more right now: send what we have before waiting.
                        yield return [Lines(batch, next)];
                        batch = [];
                        batchBytes = 0;
                        lastSent = time.GetTimestamp();
                    }

                    var untilEnd = options.MaxStreamDuration - time.GetElapsedTime(started);
                    if (untilEnd <= TimeSpan.Zero)
                    {
                        yield break;
                    }

                    var untilHeartbeat = options.HeartbeatInterval - time.GetElapsedTime(lastSent);
                    var outcome = await EventStream.WaitAsync(move, untilHeartbeat < untilEnd ? untilHeartbeat : untilEnd, time, cancellationToken).ConfigureAwait(false);
                    if (outcome == WaitOutcome.Cancelled)
                    {
                        yield break;
                    }

                    if (outcome == WaitOutcome.TimedOut)
                    {
                        if (time.GetElapsedTime(lastSent) >= options.HeartbeatInterval)
                        {
                            yield return [SseMessage.Heartbeat];
                            lastSent = time.GetTimestamp();
                        }

                        continue;
                    }
                }

                var (has, cancelled) = await MoveAsync(move).ConfigureAwait(false);
                move = null;
                if (cancelled)
                {
                    yield break;
                }

                if (!has)
                {
                    if (batch.Count > 0)
                    {
                        yield return [Lines(batch, next)];
                    }

                    var end = JsonSerializer.Serialize(new LogEndDto(next), WebJsonContext.Default.LogEndDto);
                    yield return [new SseMessage(end, "end", Id(next))];
                    yield break;
                }

                var line = lines.Current;
                batch.Add(Dto.Line(line));
                batchBytes += line.Text.Length + 16;
                next = line.Number + 1;
                if (batch.Count >= MaxLines || batchBytes >= MaxBytes)
                {
                    yield return [Lines(batch, next)];
                    batch = [];
                    batchBytes = 0;
                    lastSent = time.GetTimestamp();
                }
            }
        }
        finally
        {
            // Stop the follow before disposing it: an iterator cannot be disposed while a MoveNextAsync is pending.
            await follow.CancelAsync().ConfigureAwait(false);
            if (move is not null)
            {
                await MoveAsync(move).ConfigureAwait(false);
            }

            await lines.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The follow is cancelled with the request (or by the finally below): that ends the stream, it is no error.
    private static async Task<(bool Has, bool Cancelled)> MoveAsync(Task<bool> move)
    {
        try
        {
            return (await move.ConfigureAwait(false), false);
        }
        catch (OperationCanceledException)
        {
            return (false, true);
        }
    }

    private static SseMessage Lines(List<LogLineDto> batch, long next)
    {
        var payload = JsonSerializer.Serialize(new LogFollowDto(batch[0].N, batch), WebJsonContext.Default.LogFollowDto);
        return new SseMessage(payload, "lines", Id(next));
    }

    private static string Id(long next) => next.ToString(CultureInfo.InvariantCulture);
}
