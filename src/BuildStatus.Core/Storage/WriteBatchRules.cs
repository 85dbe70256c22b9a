using System.Globalization;

namespace BuildStatus.Storage;

/// <summary>
/// The rules of a <see cref="WriteBatch"/> that depend on what is stored, checked once for every backend: a
/// backend calls <see cref="Check"/> inside its transaction, then writes the rows and the chunks it returns.
/// </summary>
/// <remarks>
/// <para>The rules (<see cref="WriteBatch"/> states them too):</para>
/// <list type="bullet">
/// <item>a step's build exists, stored or in <see cref="WriteBatch.Builds"/>;</item>
/// <item>a log's step exists, stored or in <see cref="WriteBatch.Steps"/> (with its build);</item>
/// <item>a chunk's log has a row, stored or in <see cref="WriteBatch.Logs"/>, and its step exists;</item>
/// <item>a chunk does not leave a gap: its first line is at most the number of lines stored for its log, counting
/// the earlier chunks of the batch. A chunk whose first line is below that number is already stored (the batch is
/// a retry after an ambiguous failure) and is skipped whole.</item>
/// </list>
/// <para>Stateless and thread-safe.</para>
/// </remarks>
public static class WriteBatchRules
{
    /// <summary>Lists the stored rows <see cref="Check"/> will ask <see cref="IStoredBatchState"/> about.</summary>
    /// <param name="batch">The batch, checked with <see cref="WriteBatch.Validate"/>.</param>
    /// <returns>The keys.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is <see langword="null"/>.</exception>
    public static BatchReferences GetReferencedKeys(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var builds = new HashSet<BuildKey>();
        var steps = new HashSet<StepKey>();
        var logs = new HashSet<LogKey>();
        var batchBuilds = batch.Builds.Select(b => b.Key).ToHashSet();
        var batchSteps = batch.Steps.Select(s => s.Key).ToHashSet();
        var batchLogs = batch.Logs.Select(l => l.Key).ToHashSet();
        foreach (var step in batch.Steps)
        {
            AddBuild(step.Key.Build);
        }

        foreach (var log in batch.Logs)
        {
            AddStep(log.Key.Step);
            logs.Add(log.Key);
        }

        foreach (var chunk in batch.LogChunks)
        {
            if (!batchLogs.Contains(chunk.Log))
            {
                AddStep(chunk.Log.Step);
            }

            logs.Add(chunk.Log);
        }

        return new BatchReferences(builds, steps, logs);

        void AddBuild(BuildKey key)
        {
            if (!batchBuilds.Contains(key))
            {
                builds.Add(key);
            }
        }

        void AddStep(StepKey key)
        {
            AddBuild(key.Build);
            if (!batchSteps.Contains(key))
            {
                steps.Add(key);
            }
        }
    }

    /// <summary>
    /// Checks <paramref name="batch"/> against <paramref name="stored"/> as the batch itself would change it, and
    /// returns the log chunks to append. Calls <see cref="WriteBatch.Validate"/> first.
    /// </summary>
    /// <param name="batch">The batch.</param>
    /// <param name="stored">The stored state the batch is about to be applied to.</param>
    /// <returns>The chunks of <see cref="WriteBatch.LogChunks"/> to append, in batch order (the others are already
    /// stored).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> or <paramref name="stored"/> is <see langword="null"/>.</exception>
    /// <exception cref="BatchRejectedException">The batch is malformed or breaks a rule; the message says why and
    /// <see cref="BatchRejectedException.Keys"/> names every offending step, log or chunk (by its log). Nothing of the
    /// batch may be applied then.</exception>
    public static IReadOnlyList<StoredLogChunk> Check(WriteBatch batch, IStoredBatchState stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        WriteBatch.Validate(batch);
        var builds = batch.Builds.Select(b => b.Key).ToHashSet();
        var batchLogs = batch.Logs.Select(l => l.Key).ToHashSet();
        var steps = new HashSet<StepKey>();
        var buildExists = new Dictionary<BuildKey, bool>();
        var stepExists = new Dictionary<StepKey, bool>();
        var offending = new List<object>();
        var reasons = new List<string>();
        foreach (var step in batch.Steps)
        {
            if (BuildExists(step.Key.Build))
            {
                steps.Add(step.Key);
            }
            else
            {
                Offend(step.Key, $"step {step.Key} belongs to build {step.Key.Build}, which does not exist");
            }
        }

        // Per log: the number of lines stored once the chunks seen so far are applied; a log in the batch whose
        // step is missing has no entry.
        var lineEnds = new Dictionary<LogKey, long>();
        foreach (var log in batch.Logs)
        {
            if (StepExists(log.Key.Step))
            {
                lineEnds[log.Key] = stored.GetStoredLineCount(log.Key) ?? 0;
            }
            else
            {
                Offend(log.Key, $"log {log.Key} belongs to step {log.Key.Step}, which does not exist");
            }
        }

        var append = new List<StoredLogChunk>(batch.LogChunks.Count);
        var badLogs = new HashSet<LogKey>();
        foreach (var chunk in batch.LogChunks)
        {
            if (badLogs.Contains(chunk.Log))
            {
                continue;
            }

            if (!lineEnds.TryGetValue(chunk.Log, out var end))
            {
                if (batchLogs.Contains(chunk.Log))
                {
                    badLogs.Add(chunk.Log); // already named for its missing step
                    continue;
                }

                if (!StepExists(chunk.Log.Step))
                {
                    badLogs.Add(chunk.Log);
                    Offend(chunk.Log, $"a chunk of log {chunk.Log} belongs to step {chunk.Log.Step}, which does not exist");
                    continue;
                }

                if (stored.GetStoredLineCount(chunk.Log) is not { } storedEnd)
                {
                    badLogs.Add(chunk.Log);
                    Offend(chunk.Log, $"a chunk of log {chunk.Log} has no log row, stored or in the batch");
                    continue;
                }

                end = storedEnd;
            }

            if (chunk.FirstLine > end)
            {
                badLogs.Add(chunk.Log);
                Offend(chunk.Log, string.Create(CultureInfo.InvariantCulture, $"a chunk of log {chunk.Log} starts at line {chunk.FirstLine}, which would leave a gap after the {end} lines stored"));
                continue;
            }

            if (chunk.FirstLine == end)
            {
                append.Add(chunk);
                end = chunk.LastLine + 1;
            }

            lineEnds[chunk.Log] = end;
        }

        if (offending.Count > 0)
        {
            throw new BatchRejectedException("The batch was rejected and nothing was applied: " + string.Join("; ", reasons) + ".", offending);
        }

        return append;

        bool BuildExists(BuildKey key)
        {
            if (builds.Contains(key))
            {
                return true;
            }

            if (!buildExists.TryGetValue(key, out var exists))
            {
                exists = stored.BuildExists(key);
                buildExists.Add(key, exists);
            }

            return exists;
        }

        bool StepExists(StepKey key)
        {
            if (!BuildExists(key.Build))
            {
                return false;
            }

            if (steps.Contains(key))
            {
                return true;
            }

            if (!stepExists.TryGetValue(key, out var exists))
            {
                exists = stored.StepExists(key);
                stepExists.Add(key, exists);
            }

            return exists;
        }

        void Offend(object key, string reason)
        {
            offending.Add(key);
            reasons.Add(reason);
        }
    }
}
