using System.Runtime.CompilerServices;
using System.Text.Json;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// One client's status stream: a cursor into the <see cref="EventJournal"/> and the batch it is writing. Each batch
/// is written with one flush (<see cref="SseResult"/>).
/// </summary>
/// <remarks>
/// Runs on the request's thread pool continuations only; its state (cursor, batch) is local to the iterator. A
/// client that reads slowly gets several events per read, and consecutive <c>logChunk</c> events of one log in
/// that batch are merged into one, so it catches up; one that stops reading holds only the batch being written
/// and the server's response buffer, and is overtaken by the journal (then told with a <c>reset</c>).
/// </remarks>
internal static class EventStream
{
    /// <summary>The most journal entries one read takes (and so one stalled stream holds).</summary>
    public const int MaxBatch = 256;

    /// <summary>The most bytes of events one read takes, unless a single event is larger.</summary>
    public const int MaxBatchBytes = 256 * 1024;

    /// <summary>The most lines a merged <c>logChunk</c> event carries.</summary>
    public const int MaxMergedLines = 5000;

    public static async IAsyncEnumerable<IReadOnlyList<SseMessage>> StreamAsync(
        EventJournal journal,
        long cursor,
        StreamFilter filter,
        BuildStatusWebOptions options,
        TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var lastSent = started;
        yield return [new SseMessage(journal.FormatId(Math.Max(cursor, 0)), "open") { Retry = options.ReconnectDelay }];
        while (!cancellationToken.IsCancellationRequested)
        {
            var read = journal.Read(cursor, filter, MaxBatch, MaxBatchBytes);
            cursor = read.ScannedTo;
            if (read.Entries.Count > 0)
            {
                yield return Coalesce(journal, read.Entries);

                lastSent = time.GetTimestamp();
                continue;
            }

            var untilEnd = options.MaxStreamDuration - time.GetElapsedTime(started);
            if (untilEnd <= TimeSpan.Zero)
            {
                // The browser reconnects with Last-Event-ID (the id of the last event it got) and misses nothing.
                yield break;
            }

            var untilHeartbeat = options.HeartbeatInterval - time.GetElapsedTime(lastSent);
            var wait = untilHeartbeat < untilEnd ? untilHeartbeat : untilEnd;
            var outcome = await WaitAsync(read.Changed, wait, time, cancellationToken).ConfigureAwait(false);
            if (outcome == WaitOutcome.Cancelled)
            {
                yield break;
            }

            if (outcome == WaitOutcome.TimedOut && time.GetElapsedTime(lastSent) >= options.HeartbeatInterval)
            {
                yield return [SseMessage.Heartbeat];
                lastSent = time.GetTimestamp();
            }
        }
    }

    internal static async Task<WaitOutcome> WaitAsync(Task task, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return task.IsCompleted ? WaitOutcome.Completed : WaitOutcome.TimedOut;
        }

        try
        {
            await task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            return WaitOutcome.Completed;
        }
        catch (TimeoutException)
        {
            return WaitOutcome.TimedOut;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return WaitOutcome.Cancelled;
        }
    }

    private static List<SseMessage> Coalesce(EventJournal journal, IReadOnlyList<JournalEntry> entries)
    {
        // A chunk merges into the pending chunk of the same log only when nothing but chunks lies between them;
        // the merged event takes the later position, head and id, so every other event keeps its order and ids
        // increase. Merging joins the entries' serialized lines: nothing is serialized again.
        var items = new List<(JournalEntry Entry, List<string>? Lines, int LineCount)?>(entries.Count);
        Dictionary<string, int>? pending = null;
        foreach (var entry in entries)
        {
            if (entry.LogKey is { } key && entry.ChunkHead is not null)
            {
                pending ??= new Dictionary<string, int>(StringComparer.Ordinal);
                List<string>? lines = null;
                var count = entry.ChunkLineCount;
                if (pending.TryGetValue(key, out var index) && items[index] is { } earlier && earlier.LineCount + count <= MaxMergedLines)
                {
                    items[index] = null;
                    lines = earlier.Lines ?? [earlier.Entry.ChunkLines!];
                    lines.Add(entry.ChunkLines!);
                    count += earlier.LineCount;
                }

                pending[key] = items.Count;
                items.Add((entry, lines, count));
                continue;
            }

            pending?.Clear();
            items.Add((entry, null, 0));
        }

        var result = new List<SseMessage>(items.Count);
        foreach (var item in items)
        {
            if (item is not { } kept)
            {
                continue;
            }

            var (entry, lines, _) = kept;
            var payload = lines is null
                ? entry.Payload
                : string.Concat(entry.ChunkHead, string.Join(',', lines.Where(l => l.Length > 0)), "]}");
            result.Add(new SseMessage(payload, entry.IsReset ? "reset" : null, journal.FormatId(entry.Sequence)));
        }

        return result;
    }
}
