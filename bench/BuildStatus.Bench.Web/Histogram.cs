namespace BuildStatus.Bench.Web;

/// <summary>A lock-free latency histogram in 0.1 ms buckets up to 10 s (many threads record at once).</summary>
internal sealed class Histogram
{
    private const double BucketMs = 0.1;
    private readonly long[] _buckets = new long[100_001];
    private long _count;
    private double _maxMs;

    public long Count => Interlocked.Read(ref _count);

    public void Record(double ms)
    {
        var index = (int)Math.Clamp(ms / BucketMs, 0, _buckets.Length - 1);
        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Increment(ref _count);
        double seen;
        while (ms > (seen = Volatile.Read(ref _maxMs)) && Interlocked.CompareExchange(ref _maxMs, ms, seen) != seen)
        {
        }
    }

    public double Percentile(double p)
    {
        var target = (long)Math.Ceiling(Count * p);
        long sum = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            sum += Interlocked.Read(ref _buckets[i]);
            if (sum >= target && target > 0)
            {
                return (i + 1) * BucketMs;
            }
        }

        return double.NaN;
    }

    public double Max => Volatile.Read(ref _maxMs);

    public string Summary() => FormattableString.Invariant($"p50 {Percentile(0.5):0.0} ms, p95 {Percentile(0.95):0.0} ms, p99 {Percentile(0.99):0.0} ms, max {Max:0.0} ms, {Count} samples");
}
