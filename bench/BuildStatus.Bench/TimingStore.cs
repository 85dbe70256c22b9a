using System.Diagnostics;
using BuildStatus.Storage;

namespace BuildStatus.Bench;

/// <summary>
/// Wraps the store under test and adds up the time spent in its write calls, so the runner can say where the write
/// phase went (writer batches vs. build-number allocation) without a profiler. Costs two timestamps per call.
/// </summary>
internal sealed class TimingStore(IBuildStore inner) : IBuildStore
{
    private long _applyTicks;
    private long _createTicks;
    private long _batches;
    private long _rows;
    private long _creates;

    public double ApplySeconds => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _applyTicks)).TotalSeconds;

    public double CreateBuildSeconds => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _createTicks)).TotalSeconds;

    public long Batches => Interlocked.Read(ref _batches);

    public long Rows => Interlocked.Read(ref _rows);

    public long Creates => Interlocked.Read(ref _creates);

    public async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await inner.ApplyAsync(batch, cancellationToken);
        }
        finally
        {
            Interlocked.Add(ref _applyTicks, Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _rows, batch.Count);
        }
    }

    public async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await inner.CreateBuildAsync(build, cancellationToken);
        }
        finally
        {
            Interlocked.Add(ref _createTicks, Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref _creates);
        }
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _applyTicks, 0);
        Interlocked.Exchange(ref _createTicks, 0);
        Interlocked.Exchange(ref _batches, 0);
        Interlocked.Exchange(ref _rows, 0);
        Interlocked.Exchange(ref _creates, 0);
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) => inner.GetBuildersAsync(cancellationToken);

    public Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => inner.GetBuilderAsync(name, cancellationToken);

    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) => inner.GetWorkersAsync(cancellationToken);

    public Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => inner.GetWorkerAsync(name, cancellationToken);

    public Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => inner.GetBuildAsync(key, cancellationToken);

    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => inner.QueryBuildsAsync(query, cancellationToken);

    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) => inner.GetStepsAsync(build, cancellationToken);

    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) => inner.GetLogsAsync(step, cancellationToken);

    public Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) => inner.GetLogAsync(log, cancellationToken);

    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default) => inner.ReadLogLinesAsync(log, firstLine, maxLines, cancellationToken);

    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default) => inner.GetUnfinishedBuildsAsync(hostName, cancellationToken);

    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => inner.PruneAsync(policy, now, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
