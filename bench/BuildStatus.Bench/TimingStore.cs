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

    // Each CreateBuildAsync call's duration in Stopwatch ticks; guarded by itself (calls may overlap at concurrency > 1).
    private readonly List<long> _createDurations = [];

    public double ApplySeconds => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _applyTicks)).TotalSeconds;

    public double CreateBuildSeconds => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _createTicks)).TotalSeconds;

    public long Batches => Interlocked.Read(ref _batches);

    public long Rows => Interlocked.Read(ref _rows);

    public long Creates => Interlocked.Read(ref _creates);

    /// <summary>The p50, p90 and p99 of one CreateBuildAsync call, in milliseconds (0 when there was none).</summary>
    public (double P50, double P90, double P99) CreateBuildPercentiles()
    {
        long[] ticks;
        lock (_createDurations)
        {
            ticks = [.. _createDurations];
        }

        if (ticks.Length == 0)
        {
            return (0, 0, 0);
        }

        Array.Sort(ticks);
        double At(double q) => Stopwatch.GetElapsedTime(0, ticks[Math.Clamp((int)Math.Ceiling(q * ticks.Length) - 1, 0, ticks.Length - 1)]).TotalMilliseconds;
        return (At(0.50), At(0.90), At(0.99));
    }

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
            var elapsed = Stopwatch.GetTimestamp() - started;
            Interlocked.Add(ref _createTicks, elapsed);
            Interlocked.Increment(ref _creates);
            lock (_createDurations)
            {
                _createDurations.Add(elapsed);
            }
        }
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _applyTicks, 0);
        Interlocked.Exchange(ref _createTicks, 0);
        Interlocked.Exchange(ref _batches, 0);
        Interlocked.Exchange(ref _rows, 0);
        Interlocked.Exchange(ref _creates, 0);
        lock (_createDurations)
        {
            _createDurations.Clear();
        }
    }
}
