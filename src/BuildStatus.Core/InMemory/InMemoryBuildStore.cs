using System.Collections.ObjectModel;
using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>
/// An <see cref="IBuildStore"/> that keeps history in the process's memory: nothing survives the process, and
/// two instances never share data. Use it for tests, samples and hosts that need no history across restarts.
/// </summary>
/// <remarks>
/// <para>
/// Every member is thread-safe. One lock guards all state; each call holds it only for the rows it touches,
/// and <see cref="PruneAsync"/> releases it between slices of at most
/// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows. Stored rows are immutable snapshots (their lists and
/// dictionaries are copied on the way in), so what a read returns cannot change the store.
/// </para>
/// <para>
/// Builds are kept per builder in a list sorted by number, so a page of <see cref="QueryBuildsAsync"/> costs the
/// builds it scans, not the builder's whole history; log lines are kept per log as chunks located by binary search.
/// </para>
/// </remarks>
public sealed partial class InMemoryBuildStore : IBuildStore, IBuildInstanceStore, IDisposable
{
    private const string BatchParameter = "batch";

    // Owns all state below: every read and write of these fields happens while holding it.
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, StoredBuilder> _builders = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, StoredWorker> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BuilderHistory> _histories = new(StringComparer.Ordinal);

    // Keys of unfinished builds, so recovery does not scan all history.
    private readonly HashSet<BuildKey> _unfinished = [];
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
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Applies <paramref name="batch"/> atomically: the whole batch is checked against the rules of
    /// <see cref="WriteBatch"/> first, and either every write is applied or none is.
    /// </summary>
    /// <param name="batch">The writes.</param>
    /// <param name="cancellationToken">Cancels the call before anything is applied.</param>
    /// <returns>A task that completes when the batch is applied; faulted with <see cref="BuildStoreException"/>
    /// when the batch breaks a rule (a step, log or chunk of a missing build, a log or chunk of a missing step, a
    /// chunk of a missing log, or a chunk that would leave a gap in its log), in which case nothing was applied.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A row of the batch is malformed (a <see langword="null"/> element or
    /// required field, an empty name, a key listed twice; a <see cref="StoredLogChunk"/> checks its own lines when
    /// it is constructed).</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        WriteBatch.Validate(batch);

        var builds = new StoredBuild[batch.Builds.Count];
        for (var i = 0; i < builds.Length; i++)
        {
            builds[i] = Freeze(batch.Builds[i]);
        }

        var steps = new StoredStep[batch.Steps.Count];
        for (var i = 0; i < steps.Length; i++)
        {
            steps[i] = Freeze(batch.Steps[i]);
        }

        lock (_gate)
        {
            ThrowIfDisposed();
            ThrowIfFenced(batch.InstanceId);
            var append = new bool[batch.LogChunks.Count];
            if (Plan(batch, append) is { } rejection)
            {
                return Task.FromException(new BatchRejectedException($"The batch was rejected and nothing was applied: {rejection.Reason}.", [rejection.Key]));
            }

            foreach (var builder in batch.Builders)
            {
                _builders[builder.Name] = Freeze(builder);
            }

            foreach (var worker in batch.Workers)
            {
                _workers[worker.Name] = Freeze(worker);
            }

            foreach (var build in builds)
            {
                PutBuild(build);
            }

            foreach (var step in steps)
            {
                var buildEntry = FindBuild(step.Key.Build)!;
                if (buildEntry.Steps.TryGetValue(step.Key.StepNumber, out var stepEntry))
                {
                    stepEntry.Step = step;
                }
                else
                {
                    buildEntry.Steps.Add(step.Key.StepNumber, new StepEntry(step));
                }
            }

            foreach (var log in batch.Logs)
            {
                var stepEntry = FindStep(log.Key.Step)!;
                if (stepEntry.Logs.TryGetValue(log.Key.LogNumber, out var logEntry))
                {
                    logEntry.Log = log;
                }
                else
                {
                    stepEntry.Logs.Add(log.Key.LogNumber, new LogEntry(log));
                }
            }

            for (var i = 0; i < batch.LogChunks.Count; i++)
            {
                if (append[i])
                {
                    var chunk = batch.LogChunks[i];
                    FindLog(chunk.Log)!.Append(chunk);
                }
            }

            PutRequests(batch.Requests);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Allocates the next number of the build's builder (one more than both the highest number ever stored and the
    /// highest ever allocated for it, starting at 1) and inserts the build with it; creates the builder row (name
    /// only) when missing.
    /// </summary>
    /// <param name="build">The build; its <see cref="StoredBuild.Number"/> is ignored.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The allocated number.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="build"/> or one of its required fields is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The builder name is empty.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(build);
        CheckBuild(build, nameof(build));
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var frozen = Freeze(build);
        lock (_gate)
        {
            ThrowIfDisposed();
            ThrowIfFenced(build.InstanceId);
            if (FindCreation(build.CreationId) is { } existing)
            {
                return Task.FromResult(existing);
            }

            var history = HistoryOf(build.BuilderName);
            var number = checked(history.HighestNumber + 1);
            PutBuild(frozen with { Number = number });
            RecordCreation(build.CreationId, new BuildKey(build.BuilderName, number));
            return Task.FromResult(number);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult<IReadOnlyList<StoredBuilder>>([.. _builders.Values]);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(_builders.GetValueOrDefault(name));
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult<IReadOnlyList<StoredWorker>>([.. _workers.Values]);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(_workers.GetValueOrDefault(name));
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">The key's builder name is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default)
    {
        ThrowIfNullName(key.BuilderName, nameof(key));
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(FindBuild(key)?.Build);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The query is invalid (see <see cref="BuildQuery.Validate"/>).</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_histories.TryGetValue(query.BuilderName, out var history))
            {
                return Task.FromResult<IReadOnlyList<StoredBuild>>([]);
            }

            var numbers = history.Builds.Keys;
            var entries = history.Builds.Values;
            var start = query.BeforeNumber is { } before ? LowerBound(numbers, before) - 1 : numbers.Count - 1;
            var page = new List<StoredBuild>(Math.Min(query.Limit, start + 1));
            for (var i = start; i >= 0 && page.Count < query.Limit; i--)
            {
                var build = entries[i].Build;
                if (Matches(build, query))
                {
                    page.Add(build);
                }
            }

            return Task.FromResult<IReadOnlyList<StoredBuild>>(page.AsReadOnly());
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">The key's builder name is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default)
    {
        ThrowIfNullName(build.BuilderName, nameof(build));
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (FindBuild(build) is not { } entry)
            {
                return Task.FromResult<IReadOnlyList<StoredStep>>([]);
            }

            var steps = new StoredStep[entry.Steps.Count];
            var values = entry.Steps.Values;
            for (var i = 0; i < steps.Length; i++)
            {
                steps[i] = values[i].Step;
            }

            return Task.FromResult<IReadOnlyList<StoredStep>>(Array.AsReadOnly(steps));
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">The key's builder name is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default)
    {
        ThrowIfNullName(step.BuilderName, nameof(step));
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (FindStep(step) is not { } entry)
            {
                return Task.FromResult<IReadOnlyList<StoredLog>>([]);
            }

            var logs = new StoredLog[entry.Logs.Count];
            var values = entry.Logs.Values;
            for (var i = 0; i < logs.Length; i++)
            {
                logs[i] = values[i].Log;
            }

            return Task.FromResult<IReadOnlyList<StoredLog>>(Array.AsReadOnly(logs));
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">The key's builder name is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default)
    {
        ThrowIfNullName(log.BuilderName, nameof(log));
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(FindLog(log)?.Log);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">The key's builder name is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLine"/> or <paramref name="maxLines"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default)
    {
        ThrowIfNullName(log.BuilderName, nameof(log));
        ArgumentOutOfRangeException.ThrowIfNegative(firstLine);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLines);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (maxLines == 0 || FindLog(log) is not { } entry || firstLine >= entry.LineEnd)
            {
                return Task.FromResult<IReadOnlyList<LogLine>>([]);
            }

            return Task.FromResult<IReadOnlyList<LogLine>>(Array.AsReadOnly(entry.Read(firstLine, maxLines)));
        }
    }

    /// <inheritdoc/>
    /// <remarks>Builders are ordered by name (ordinal), then builds by number.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="hostName"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hostName);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        List<StoredBuild> builds = [];
        lock (_gate)
        {
            ThrowIfDisposed();
            foreach (var key in _unfinished)
            {
                var build = FindBuild(key)!.Build;
                if (string.Equals(build.HostName, hostName, StringComparison.Ordinal))
                {
                    builds.Add(build);
                }
            }
        }

        builds.Sort(static (x, y) =>
        {
            var byBuilder = string.CompareOrdinal(x.BuilderName, y.BuilderName);
            return byBuilder != 0 ? byBuilder : x.Number.CompareTo(y.Number);
        });
        return Task.FromResult<IReadOnlyList<StoredBuild>>(builds.AsReadOnly());
    }

    /// <summary>
    /// Deletes what <paramref name="policy"/> says is too old. Which builds and logs are due is decided once, from
    /// the state at the start of the call; they are then deleted in slices of at most
    /// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> rows (a build, step, log or chunk each count as one row;
    /// a single build or log larger than that is deleted in one slice of its own), with the lock released between
    /// slices. A build that was removed or became unfinished meanwhile is left alone.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Stops between slices; what earlier slices deleted stays deleted.</param>
    /// <returns>What was deleted.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The policy is invalid (see <see cref="RetentionPolicy.Validate"/>).</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is cancelled.</exception>
    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (!policy.IsEnabled)
        {
            return Task.FromResult(new PruneResult(0, 0));
        }

        List<PruneItem> due;
        lock (_gate)
        {
            ThrowIfDisposed();
            due = PlanPrune(policy, now);
        }

        int buildsDeleted = 0, logsDeleted = 0, next = 0;
        while (next < due.Count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (_gate)
            {
                ThrowIfDisposed();
                var rows = 0;
                for (; next < due.Count; next++)
                {
                    var item = due[next];
                    var cost = CostOf(item);
                    if (cost == 0)
                    {
                        continue;
                    }

                    if (rows > 0 && rows + cost > policy.MaxRowsPerTransaction)
                    {
                        break;
                    }

                    rows += cost;
                    if (item.Log is { } logKey)
                    {
                        FindStep(logKey.Step)!.Logs.Remove(logKey.LogNumber);
                        logsDeleted++;
                    }
                    else
                    {
                        _histories[item.Build.BuilderName].Builds.Remove(item.Build.Number);
                        buildsDeleted++;
                    }
                }
            }
        }

        return Task.FromResult(new PruneResult(buildsDeleted, logsDeleted));
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
        }
    }

    private static void ThrowIfNullName(string? builderName, string paramName)
    {
        if (builderName is null)
        {
            throw new ArgumentNullException(paramName, "The key's builder name is null.");
        }
    }

    private static int LowerBound(IList<int> sorted, int value)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static bool Matches(StoredBuild build, BuildQuery query)
    {
        if (query.Results is { } results && (build.Result is not { } result || !results.Contains(result)))
        {
            return false;
        }

        if (query.Finished is { } finished && build.IsFinished != finished)
        {
            return false;
        }

        if ((query.StartedAtOrAfter is { } from && build.StartedAt < from) || (query.StartedBefore is { } to && build.StartedAt >= to))
        {
            return false;
        }

        if (query.Branch is { } branch && !build.SourceStamps.Any(s => string.Equals(s.Branch, branch, StringComparison.Ordinal)))
        {
            return false;
        }

        if (query.Revision is { } revision && !build.SourceStamps.Any(s => string.Equals(s.Revision, revision, StringComparison.Ordinal)))
        {
            return false;
        }

        if (query.PropertyName is { } name)
        {
            if (!build.Properties.TryGetValue(name, out var property))
            {
                return false;
            }

            if (query.PropertyValue is { } value && !string.Equals(property.Value, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static void CheckBuild(StoredBuild build, string paramName)
    {
        if (build.BuilderName is null || build.HostName is null || build.StateText is null || build.SourceStamps is null
            || build.Changes is null || build.ResponsibleUsers is null || build.Properties is null)
        {
            throw new ArgumentNullException(paramName, $"Build {build.BuilderName}#{build.Number} has a null BuilderName, HostName, StateText, SourceStamps, Changes, ResponsibleUsers or Properties.");
        }

        if (build.BuilderName.Length == 0)
        {
            throw new ArgumentException("A build has an empty builder name.", paramName);
        }
    }

    private static void CheckName(string? name, string what) => Require(!string.IsNullOrEmpty(name), $"{what} has a null or empty name.");

    private static void Require(bool condition, string message, string paramName = BatchParameter)
    {
        if (!condition)
        {
            throw new ArgumentException(message, paramName);
        }
    }

    private static StoredBuilder Freeze(StoredBuilder builder) => builder with { Tags = FreezeList(builder.Tags) };

    private static StoredWorker Freeze(StoredWorker worker) =>
        worker with { Info = FreezeDictionary(worker.Info), LastSeen = StorageTime.Truncate(worker.LastSeen) };

    private static StoredBuild Freeze(StoredBuild build) => build with
    {
        SourceStamps = FreezeList(build.SourceStamps),
        Changes = FreezeList(build.Changes),
        ResponsibleUsers = FreezeList(build.ResponsibleUsers),
        Properties = FreezeDictionary(build.Properties),
        StartedAt = StorageTime.Truncate(build.StartedAt),
        FinishedAt = StorageTime.Truncate(build.FinishedAt),
    };

    private static StoredStep Freeze(StoredStep step) => step with
    {
        Urls = FreezeList(step.Urls),
        Statistics = FreezeDictionary(step.Statistics),
        StartedAt = StorageTime.Truncate(step.StartedAt),
        FinishedAt = StorageTime.Truncate(step.FinishedAt),
    };

    private static ReadOnlyCollection<T> FreezeList<T>(IReadOnlyList<T> list) =>
        list.Count == 0 ? ReadOnlyCollection<T>.Empty : Array.AsReadOnly([.. list]);

    private static ReadOnlyDictionary<string, T> FreezeDictionary<T>(IReadOnlyDictionary<string, T> dictionary) =>
        dictionary.Count == 0 ? ReadOnlyDictionary<string, T>.Empty : new Dictionary<string, T>(dictionary, StringComparer.Ordinal).AsReadOnly();

    private static int CostOf(LogEntry log) => 1 + log.Chunks.Count;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);

    private BuilderHistory HistoryOf(string builderName)
    {
        if (!_histories.TryGetValue(builderName, out var history))
        {
            history = new BuilderHistory();
            _histories.Add(builderName, history);
        }

        if (!_builders.ContainsKey(builderName))
        {
            _builders.Add(builderName, new StoredBuilder(builderName, null, ReadOnlyCollection<string>.Empty));
        }

        return history;
    }

    // Inserts or replaces a frozen build row, keeping its steps, the number high-water mark and the unfinished index.
    private void PutBuild(StoredBuild build)
    {
        var history = HistoryOf(build.BuilderName);
        if (history.Builds.TryGetValue(build.Number, out var entry))
        {
            // Who created the build, and under which creation id, is fixed at creation.
            entry.Build = build with { InstanceId = entry.Build.InstanceId, CreationId = entry.Build.CreationId };
        }
        else
        {
            history.Builds.Add(build.Number, new BuildEntry(build));
        }

        history.HighestNumber = Math.Max(history.HighestNumber, build.Number);
        if (build.IsFinished)
        {
            _unfinished.Remove(build.Key);
        }
        else
        {
            _unfinished.Add(build.Key);
        }
    }

    private BuildEntry? FindBuild(BuildKey key) =>
        _histories.TryGetValue(key.BuilderName, out var history) ? history.Builds.GetValueOrDefault(key.Number) : null;

    private StepEntry? FindStep(StepKey key) => FindBuild(key.Build)?.Steps.GetValueOrDefault(key.StepNumber);

    private LogEntry? FindLog(LogKey key) => FindStep(key.Step)?.Logs.GetValueOrDefault(key.LogNumber);

    // Checks the batch against the stored state as the batch itself would change it, and marks in append which
    // chunks to store (false: its first line is already stored, the batch is a retry). Returns why the batch breaks
    // a rule, or null when it may be applied.
    private (string Reason, object Key)? Plan(WriteBatch batch, bool[] append)
    {
        var builds = batch.Builds.Select(b => b.Key).ToHashSet();
        var steps = batch.Steps.Select(s => s.Key).ToHashSet();
        foreach (var step in batch.Steps)
        {
            if (!BuildExists(step.Key.Build))
            {
                return ($"step {step.Key} belongs to build {step.Key.Build}, which does not exist", step.Key);
            }
        }

        // Per log: the number of lines stored once the chunks seen so far are applied.
        var lineEnds = new Dictionary<LogKey, long>();
        foreach (var log in batch.Logs)
        {
            if (!StepExists(log.Key.Step))
            {
                return ($"log {log.Key} belongs to step {log.Key.Step}, which does not exist", log.Key);
            }

            lineEnds[log.Key] = FindLog(log.Key)?.LineEnd ?? 0;
        }

        for (var i = 0; i < append.Length; i++)
        {
            var chunk = batch.LogChunks[i];
            if (!lineEnds.TryGetValue(chunk.Log, out var end))
            {
                if (!StepExists(chunk.Log.Step))
                {
                    return ($"a chunk of log {chunk.Log} belongs to step {chunk.Log.Step}, which does not exist", chunk.Log);
                }

                if (FindLog(chunk.Log) is not { } stored)
                {
                    return ($"a chunk of log {chunk.Log} has no log row, stored or in the batch", chunk.Log);
                }

                end = stored.LineEnd;
            }

            if (chunk.FirstLine > end)
            {
                return ($"a chunk of log {chunk.Log} starts at line {chunk.FirstLine}, which would leave a gap after the {end} lines stored", chunk.Log);
            }

            append[i] = chunk.FirstLine == end;
            lineEnds[chunk.Log] = append[i] ? chunk.LastLine + 1 : end;
        }

        return null;

        bool BuildExists(BuildKey key) => builds.Contains(key) || FindBuild(key) is not null;

        bool StepExists(StepKey key) => BuildExists(key.Build) && (steps.Contains(key) || FindStep(key) is not null);
    }

    private List<PruneItem> PlanPrune(RetentionPolicy policy, DateTimeOffset now)
    {
        DateTimeOffset? buildCutoff = policy.BuildHorizon is { } bh ? now - bh : null;
        DateTimeOffset? logCutoff = policy.LogHorizon is { } lh ? now - lh : null;
        List<PruneItem> due = [];
        foreach (var history in _histories.Values)
        {
            var entries = history.Builds.Values;
            var finishedIndex = 0;
            for (var i = entries.Count - 1; i >= 0; i--)
            {
                var entry = entries[i];
                if (entry.Build.FinishedAt is not { } finishedAt)
                {
                    continue;
                }

                var index = finishedIndex++;
                if (finishedAt < buildCutoff || index >= policy.MaxBuildsPerBuilder)
                {
                    due.Add(new PruneItem(entry.Build.Key, null));
                }
                else if (finishedAt < logCutoff || index >= policy.MaxLogBuildsPerBuilder)
                {
                    foreach (var step in entry.Steps.Values)
                    {
                        foreach (var log in step.Logs.Values)
                        {
                            due.Add(new PruneItem(entry.Build.Key, log.Log.Key));
                        }
                    }
                }
            }
        }

        return due;
    }

    // The rows deleting the item would remove now, or 0 when it is gone or no longer due (its build is unfinished).
    private int CostOf(PruneItem item)
    {
        if (FindBuild(item.Build) is not { Build.IsFinished: true } build)
        {
            return 0;
        }

        if (item.Log is { } logKey)
        {
            return FindLog(logKey) is { } log ? CostOf(log) : 0;
        }

        var rows = 1;
        foreach (var step in build.Steps.Values)
        {
            rows++;
            foreach (var log in step.Logs.Values)
            {
                rows += CostOf(log);
            }
        }

        return rows;
    }

    private readonly record struct PruneItem(BuildKey Build, LogKey? Log);

    private sealed class BuilderHistory
    {
        public SortedList<int, BuildEntry> Builds { get; } = [];

        // The highest number ever stored or allocated, so numbers are never reused, even after pruning.
        public int HighestNumber { get; set; }
    }

    private sealed class BuildEntry(StoredBuild build)
    {
        public StoredBuild Build { get; set; } = build;

        public SortedList<int, StepEntry> Steps { get; } = [];
    }

    private sealed class StepEntry(StoredStep step)
    {
        public StoredStep Step { get; set; } = step;

        public SortedList<int, LogEntry> Logs { get; } = [];
    }

    private sealed class LogEntry(StoredLog log)
    {
        public StoredLog Log { get; set; } = log;

        // Contiguous chunks, kept as given (a StoredLogChunk is immutable UTF-8): chunk i starts where chunk i-1
        // ends, the first at line 0. Lines are decoded to strings only when read.
        public List<StoredLogChunk> Chunks { get; } = [];

        // The number of lines stored (the next line number to append); not Log.LineCount, which is stored as given.
        public long LineEnd { get; private set; }

        public void Append(StoredLogChunk chunk)
        {
            Chunks.Add(chunk);
            LineEnd += chunk.LineCount;
        }

        public LogLine[] Read(long firstLine, int maxLines)
        {
            var lines = new LogLine[(int)Math.Min(maxLines, LineEnd - firstLine)];

            // The last chunk starting at or before firstLine holds it.
            int lo = 0, hi = Chunks.Count - 1;
            while (lo < hi)
            {
                var mid = lo + ((hi - lo + 1) / 2);
                if (Chunks[mid].FirstLine <= firstLine)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            var copied = 0;
            var offset = (int)(firstLine - Chunks[lo].FirstLine);
            for (var c = lo; copied < lines.Length; c++, offset = 0)
            {
                var chunk = Chunks[c];
                var count = Math.Min(chunk.LineCount - offset, lines.Length - copied);
                chunk.DecodeLines(offset, lines.AsSpan(copied, count));
                copied += count;
            }

            return lines;
        }
    }
}
