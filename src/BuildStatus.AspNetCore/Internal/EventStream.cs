using System.Runtime.CompilerServices;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// One client's status stream: a cursor into the <see cref="EventJournal"/> and the batch it is writing. Each batch
/// is written with one flush (<see cref="SseResult"/>).
/// </summary>
/// <remarks>
/// Runs on the request, then on whatever thread completes what it awaits: the journal's wake timer, one stream
/// after another (see <see cref="EventJournal"/>), or the response's flush for a client that was slow to read. Its
/// state (cursor, batch) is local to the iterator. A client that reads slowly gets several events per read, and
/// consecutive <c>logChunk</c> events of one log in that batch are merged into one, so it catches up; one that
/// stops reading holds only the batch being written (the shared frames it refers to, the buffer they are copied
/// into, and the server's response buffer), and is overtaken by the journal (then told with a <c>reset</c>).
/// </remarks>
internal static class EventStream
{
    /// <summary>The most journal entries one read takes (and so one stalled stream holds).</summary>
    public const int MaxBatch = 256;

    /// <summary>The most bytes of events one read takes, unless a single event is larger.</summary>
    public const int MaxBatchBytes = 256 * 1024;

    /// <summary>The most lines a merged <c>logChunk</c> event carries.</summary>
    public const int MaxMergedLines = 5000;

    /// <summary>Streams the journal's events that match <paramref name="filter"/>, in batches.</summary>
    /// <param name="journal">The journal.</param>
    /// <param name="from">The sequence to start after; <see langword="null"/> for now; -1 for a lost cursor (the stream starts with a reset).</param>
    /// <param name="filter">What the client asked for.</param>
    /// <param name="options">The stream options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public static async IAsyncEnumerable<IReadOnlyList<SseMessage>> StreamAsync(
        EventJournal journal,
        long? from,
        StreamFilter filter,
        BuildStatusWebOptions options,
        TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IDisposable? chunks = null;
        IDisposable? others = null;
        try
        {
            // Registered before "now" is read, so that chunks (and other hosts' events) are kept from then on; a
            // cursor the client resumes from that is older than what the journal has of them cannot resume without
            // a gap.
            var lost = false;
            if ((filter.Kinds & StatusEventKinds.LogChunk) != 0)
            {
                var chunksAfter = journal.KeepChunks(out chunks);
                lost |= from >= 0 && (chunksAfter is null || from < chunksAfter);
            }

            if (filter.OtherHosts)
            {
                var othersAfter = journal.KeepOtherHosts(out others);
                lost |= from >= 0 && from < othersAfter;
            }

            var cursor = lost ? -1 : from ?? journal.LastSequence;

            await foreach (var batch in StreamFromAsync(journal, cursor, filter, options, time, cancellationToken).ConfigureAwait(false))
            {
                yield return batch;
            }
        }
        finally
        {
            chunks?.Dispose();
            others?.Dispose();
        }
    }

    private static async IAsyncEnumerable<IReadOnlyList<SseMessage>> StreamFromAsync(
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
                yield return Coalesce(read.Entries);

                lastSent = time.GetTimestamp();
                if (!read.AtEnd)
                {
                    continue;
                }

                // Nothing was left after this batch: wait for the read's signal rather than read again to find
                // nothing (it completes at the first wake after the read, so nothing added since is missed).
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

    private static List<SseMessage> Coalesce(IReadOnlyList<JournalEntry> entries)
    {
        var result = new List<SseMessage>(entries.Count);
        var anyChunk = false;
        foreach (var entry in entries)
        {
            anyChunk |= entry.IsChunk;
        }

        if (!anyChunk)
        {
            // What most streams read (the page asks for no logChunk): each entry's shared message as it is.
            foreach (var entry in entries)
            {
                result.Add(entry.Message);
            }

            return result;
        }

        // A chunk merges into the pending chunk of the same log only when nothing but chunks lies between them;
        // the merged event takes the later position, head and id, so every other event keeps its order and ids
        // increase. Merging joins the entries' serialized lines: nothing is serialized again.
        var items = new List<(JournalEntry Entry, List<ReadOnlyMemory<byte>>? Lines, int LineCount)?>(entries.Count);
        Dictionary<string, int>? pending = null;
        foreach (var entry in entries)
        {
            if (entry.IsChunk && entry.LogKey is { } key)
            {
                pending ??= new Dictionary<string, int>(StringComparer.Ordinal);
                List<ReadOnlyMemory<byte>>? lines = null;
                var count = entry.ChunkLineCount;
                if (pending.TryGetValue(key, out var index) && items[index] is { } earlier && earlier.LineCount + count <= MaxMergedLines)
                {
                    items[index] = null;
                    lines = earlier.Lines ?? [earlier.Entry.Chunk.Lines];
                    lines.Add(entry.Chunk.Lines);
                    count += earlier.LineCount;
                }

                pending[key] = items.Count;
                items.Add((entry, lines, count));
                continue;
            }

            pending?.Clear();
            items.Add((entry, null, 0));
        }

        foreach (var item in items)
        {
            if (item is not { } kept)
            {
                continue;
            }

            var (entry, lines, _) = kept;
            result.Add(lines is null ? entry.Message : SseMessage.Encoded(entry.MergedFrame(lines), null, entry.Id));
        }

        return result;
    }
}
