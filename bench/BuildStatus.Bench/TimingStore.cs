using System.Diagnostics;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Bench;

/// <summary>
/// Wraps the store under test and adds up the time spent in its write calls, so the runner can say where the write
/// phase went (writer batches vs. build-number allocation) without a profiler. Costs two timestamps per call.
/// </summary>
internal sealed class TimingStore(IBuildStore inner) : DelegatingBuildStore(inner)
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

    public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await Inner.ApplyAsync(batch, cancellationToken);
        }
        finally
        {
            Interlocked.Add(ref _applyTicks, Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _rows, batch.Count);
        }
    }

    public override async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await Inner.CreateBuildAsync(build, cancellationToken);
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
}
