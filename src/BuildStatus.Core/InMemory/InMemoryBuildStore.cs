using System.Collections.ObjectModel;
using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>
/// An <see cref="IBuildStore"/> that keeps history in the process's memory: nothing survives the process, and
/// two instances never share data. Use it for tests, samples and hosts that need no history across restarts.
/// </summary>
/// <remarks>
/// <para>
/// Every member is thread-safe. One lock guards all state; each call holds it only for the rows it touches, and
/// <see cref="PruneWithProgressAsync"/> releases it
/// between slices of at most <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows. Stored rows are immutable
/// snapshots (their lists and dictionaries are copied on the way in), so what a read returns cannot change the store.
/// The rules are Core's: <see cref="WriteBatchRules"/> checks batches and <see cref="RetentionPlanner"/> selects what
/// to prune. Arguments are not checked again (Core checks them before calling a store).
/// </para>
/// <para>
/// Builds are kept per builder sorted by number, so a page of <see cref="QueryBuildsAsync"/> costs the builds it
/// scans, not the builder's whole history; log lines are kept per log as chunks located by binary search.
/// </para>
/// </remarks>
public sealed partial class InMemoryBuildStore : IBuildStore, IBuildInstanceStore, IDisposable
{
    // Owns all state below: every read and write of these fields happens while holding it.
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, StoredBuilder> _builders = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, StoredWorker> _workers = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, BuilderHistory> _histories = new(StringComparer.Ordinal);
    private readonly HashSet<BuildKey> _unfinished = []; // so recovery does not scan all history
    private bool _disposed;

    /// <summary>Initializes a new, empty instance of the <see cref="InMemoryBuildStore"/> class.</summary>
    public InMemoryBuildStore()
    {
    }

    /// <summary>Does nothing but check the store's state: an in-memory store has no schema. Safe to call more than once.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => Run(() => 0, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default) => Run(() =>
    {
        ThrowIfFenced(batch.InstanceId);
        var append = WriteBatchRules.Check(batch, new State(this));
        foreach (var builder in batch.Builders)
        {
            _builders[builder.Name] = builder with { Tags = Copy(builder.Tags) };
        }

        foreach (var worker in batch.Workers)
        {
            _workers[worker.Name] = worker with { Info = Copy(worker.Info), LastSeen = StorageTime.Truncate(worker.LastSeen) };
        }

        foreach (var build in batch.Builds)
        {
            PutBuild(Freeze(build));
        }

        foreach (var step in batch.Steps)
        {
            var frozen = step with { Urls = Copy(step.Urls), Statistics = Copy(step.Statistics), StartedAt = StorageTime.Truncate(step.StartedAt), FinishedAt = StorageTime.Truncate(step.FinishedAt) };
            var steps = FindBuild(step.Key.Build)!.Steps;
            steps[step.Key.StepNumber] = steps.TryGetValue(step.Key.StepNumber, out var entry) ? entry with { Step = frozen } : new StepEntry(frozen, []);
        }

        foreach (var log in batch.Logs)
        {
            var logs = FindStep(log.Key.Step)!.Logs;
            if (logs.TryGetValue(log.Key.LogNumber, out var entry))
            {
                entry.Log = log;
            }
            else
            {
                logs.Add(log.Key.LogNumber, new LogEntry(log));
            }
        }

        foreach (var chunk in append)
        {
            FindLog(chunk.Log)!.Chunks.Add(chunk);
        }

        PutRequests(batch.Requests);
        AppendEvents(batch.Events);
        return 0;
    }, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default) => Run(() =>
    {
        ThrowIfFenced(build.InstanceId);
        if (FindCreation(build.CreationId) is { } existing)
        {
            return existing;
        }

        var number = checked(HistoryOf(build.BuilderName).HighestNumber + 1);
        PutBuild(Freeze(build with { Number = number }));
        RecordCreation(build.CreationId, new BuildKey(build.BuilderName, number));
        return number;
    }, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<StoredBuilder>>(() => Array.AsReadOnly(_builders.Values.ToArray()), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) =>
        Run(() => _builders.GetValueOrDefault(name), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<StoredWorker>>(() => Array.AsReadOnly(_workers.Values.ToArray()), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) =>
        Run(() => _workers.GetValueOrDefault(name), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) =>
        Run(() => FindBuild(key)?.Build, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<StoredBuild>>(() =>
        {
            var page = new List<StoredBuild>();
            if (_histories.TryGetValue(query.BuilderName, out var history))
            {
                var entries = history.Builds.Values;
                for (var i = Below(history.Builds.Keys, query.BeforeNumber ?? int.MaxValue); i >= 0 && page.Count < query.Limit; i--)
                {
                    if (query.Matches(entries[i].Build))
                    {
                        page.Add(entries[i].Build);
                    }
                }
            }

            return page.AsReadOnly();
        }, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<StoredStep>>(() => Array.AsReadOnly(FindBuild(build)?.Steps.Values.Select(s => s.Step).ToArray() ?? []), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<StoredLog>>(() => Array.AsReadOnly(FindStep(step)?.Logs.Values.Select(l => l.Log).ToArray() ?? []), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) =>
        Run(() => FindLog(log)?.Log, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<LogLine>>(() => FindLog(log) is { } entry ? Array.AsReadOnly(entry.Read(firstLine, maxLines)) : [], cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<StoredBuild>>(() => Array.AsReadOnly(_unfinished
            .Select(key => FindBuild(key)!.Build)
            .Where(b => string.Equals(b.HostName, hostName, StringComparison.Ordinal))
            .OrderBy(b => b.BuilderName, StringComparer.Ordinal)
            .ThenBy(b => b.Number)
            .ToArray()), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        PruneWithProgressAsync(policy, now, null, cancellationToken);

    /// <summary>
    /// Deletes what <paramref name="policy"/> says is too old. What is due is decided once, by
    /// <see cref="RetentionPlanner"/> on the state at the start of the call; it is then deleted in slices of at most
    /// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows (a single build or log larger than that in a slice of
    /// its own), with the lock released between slices. A build that was removed or became unfinished meanwhile is
    /// left alone.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="now">The current time.</param>
    /// <param name="progress">Receives the running totals after each slice, outside the lock, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops between slices; what earlier slices deleted stays deleted.</param>
    /// <returns>What was deleted.</returns>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled before a slice.</exception>
    public async Task<PruneResult> PruneWithProgressAsync(RetentionPolicy policy, DateTimeOffset now, IProgress<PruneResult>? progress, CancellationToken cancellationToken = default)
    {
        var planner = new RetentionPlanner(policy, now);
        var due = await Run(() =>
        {
            List<(BuildKey Build, LogKey? Log)> items = [];
            foreach (var history in _histories.Values)
            {
                foreach (var entry in history.Builds.Values.Reverse().Where(e => e.Build.FinishedAt is not null))
                {
                    var action = planner.Classify(entry.Build.Key, entry.Build.FinishedAt!.Value);
                    if (action == RetentionAction.DeleteBuild)
                    {
                        items.Add((entry.Build.Key, null));
                    }
                    else if (action == RetentionAction.DeleteLogs)
                    {
                        items.AddRange(entry.Steps.Values.SelectMany(s => s.Logs.Values).Select(l => (entry.Build.Key, (LogKey?)l.Log.Key)));
                    }
                }
            }

            return items;
        }, cancellationToken).ConfigureAwait(false);

        var result = new PruneResult(0, 0);
        for (var next = 0; next < due.Count;)
        {
            result = await Run(() =>
            {
                for (var rows = 0; next < due.Count; next++)
                {
                    var (key, log) = due[next];
                    var cost = FindBuild(key) is { Build.IsFinished: true } build ? (log is { } l ? CostOf(FindLog(l)) : 1 + build.Steps.Values.Sum(s => 1 + s.Logs.Values.Sum(CostOf))) : 0;
                    if (cost == 0)
                    {
                        continue;
                    }

                    if (rows > 0 && rows + cost > policy.MaxRowsPerTransaction)
                    {
                        break;
                    }

                    rows += cost;
                    if (log is { } logKey)
                    {
                        FindStep(logKey.Step)!.Logs.Remove(logKey.LogNumber);
                        result = result with { LogsDeleted = result.LogsDeleted + 1 };
                    }
                    else
                    {
                        _histories[key.BuilderName].Builds.Remove(key.Number);
                        result = result with { BuildsDeleted = result.BuildsDeleted + 1 };
                    }
                }

                return result;
            }, cancellationToken).ConfigureAwait(false);
            progress?.Report(result);
        }

        return result;
    }

    /// <summary>Releases the stored history; later calls throw <see cref="ObjectDisposedException"/>. Safe to call more than once.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Releases the stored history; later calls throw <see cref="ObjectDisposedException"/>. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _builders.Clear();
            _workers.Clear();
            _histories.Clear();
            _unfinished.Clear();
            _events.Clear();
        }
    }

    // The index of the last number below 'before' (-1 when none).
    private static int Below(IList<int> sorted, int before)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            (lo, hi) = sorted[mid] < before ? (mid + 1, hi) : (lo, mid);
        }

        return lo - 1;
    }

    private static StoredBuild Freeze(StoredBuild build) => build with
    {
        SourceStamps = Copy(build.SourceStamps),
        Changes = Copy(build.Changes),
        ResponsibleUsers = Copy(build.ResponsibleUsers),
        Properties = Copy(build.Properties),
        StartedAt = StorageTime.Truncate(build.StartedAt),
        FinishedAt = StorageTime.Truncate(build.FinishedAt),
    };

    private static ReadOnlyCollection<T> Copy<T>(IReadOnlyList<T> list) => list.Count == 0 ? ReadOnlyCollection<T>.Empty : Array.AsReadOnly([.. list]);

    private static ReadOnlyDictionary<string, T> Copy<T>(IReadOnlyDictionary<string, T> dictionary) =>
        dictionary.Count == 0 ? ReadOnlyDictionary<string, T>.Empty : new Dictionary<string, T>(dictionary, StringComparer.Ordinal).AsReadOnly();

    private static int CostOf(LogEntry? log) => log is null ? 0 : 1 + log.Chunks.Count;

    // Runs a call under the lock, after the disposed and cancellation checks.
    private Task<T> Run<T>(Func<T> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Task.FromResult(call());
        }
    }

    private BuilderHistory HistoryOf(string builderName)
    {
        if (!_histories.TryGetValue(builderName, out var history))
        {
            _histories.Add(builderName, history = new BuilderHistory());
            _builders.TryAdd(builderName, new StoredBuilder(builderName, null, ReadOnlyCollection<string>.Empty));
        }

        return history;
    }

    // Inserts or replaces a frozen build row, keeping its steps, the number high-water mark and the unfinished index.
    private void PutBuild(StoredBuild build)
    {
        var history = HistoryOf(build.BuilderName);
        // Who created the build, and under which creation id, is fixed at creation.
        history.Builds[build.Number] = history.Builds.TryGetValue(build.Number, out var entry)
            ? entry with { Build = build with { InstanceId = entry.Build.InstanceId, CreationId = entry.Build.CreationId } }
            : new BuildEntry(build, []);
        history.HighestNumber = Math.Max(history.HighestNumber, build.Number);
        _ = build.IsFinished ? _unfinished.Remove(build.Key) : _unfinished.Add(build.Key);
    }

    private BuildEntry? FindBuild(BuildKey key) => _histories.TryGetValue(key.BuilderName, out var history) ? history.Builds.GetValueOrDefault(key.Number) : null;

    private StepEntry? FindStep(StepKey key) => FindBuild(key.Build)?.Steps.GetValueOrDefault(key.StepNumber);

    private LogEntry? FindLog(LogKey key) => FindStep(key.Step)?.Logs.GetValueOrDefault(key.LogNumber);

    // Answers WriteBatchRules from the stored state; used only under the lock.
    private sealed class State(InMemoryBuildStore store) : IStoredBatchState
    {
        public bool BuildExists(BuildKey build) => store.FindBuild(build) is not null;

        public bool StepExists(StepKey step) => store.FindStep(step) is not null;

        public long? GetStoredLineCount(LogKey log) => store.FindLog(log)?.LineEnd;
    }

    private sealed class BuilderHistory
    {
        public SortedList<int, BuildEntry> Builds { get; } = [];

        // The highest number ever stored or allocated, so numbers are never reused, even after pruning.
        public int HighestNumber { get; set; }
    }

    private sealed record BuildEntry(StoredBuild Build, SortedList<int, StepEntry> Steps);

    private sealed record StepEntry(StoredStep Step, SortedList<int, LogEntry> Logs);

    private sealed class LogEntry(StoredLog log)
    {
        public StoredLog Log { get; set; } = log;

        // Contiguous chunks as given (a StoredLogChunk is immutable UTF-8), the first at line 0; decoded only when read.
        public List<StoredLogChunk> Chunks { get; } = [];

        // The number of lines stored (the next line number to append); not Log.LineCount, which is stored as given.
        public long LineEnd => Chunks.Count == 0 ? 0 : Chunks[^1].LastLine + 1;

        public LogLine[] Read(long firstLine, int maxLines)
        {
            var lines = new LogLine[(int)Math.Clamp(LineEnd - firstLine, 0, maxLines)];
            int lo = 0, hi = Chunks.Count - 1; // the last chunk starting at or before firstLine holds it
            while (lo < hi)
            {
                var mid = lo + ((hi - lo + 1) / 2);
                (lo, hi) = Chunks[mid].FirstLine <= firstLine ? (mid, hi) : (lo, mid - 1);
            }

            for (int c = lo, copied = 0, offset = lines.Length == 0 ? 0 : (int)(firstLine - Chunks[lo].FirstLine); copied < lines.Length; c++, offset = 0)
            {
                var count = Math.Min(Chunks[c].LineCount - offset, lines.Length - copied);
                Chunks[c].DecodeLines(offset, lines.AsSpan(copied, count));
                copied += count;
            }

            return lines;
        }
    }
}
