using System.Globalization;
using System.Text;

namespace BuildStatus.Bench.Web;

/// <summary>
/// A latency histogram: 0.1 ms buckets up to 1 s, then 10 ms buckets up to 101 s. <see cref="Record"/> is atomic
/// (many threads may record at once); <see cref="RecordLocal"/> is for a histogram one thread owns (a watcher's),
/// merged later with <see cref="Add"/>. It travels between processes as text (<see cref="Serialize"/>).
/// </summary>
internal sealed class Histogram
{
    private const int FineBuckets = 10_000; // 0.1 ms each: 0 to 1 s
    private const int CoarseBuckets = 10_000; // 10 ms each: 1 s to 101 s
    private readonly long[] _buckets = new long[FineBuckets + CoarseBuckets];
    private long _count;
    private double _maxMs;

    public long Count => Interlocked.Read(ref _count);

    public double Max => Volatile.Read(ref _maxMs);

    public void Record(double ms)
    {
        Interlocked.Increment(ref _buckets[Index(ms)]);
        Interlocked.Increment(ref _count);
        double seen;
        while (ms > (seen = Volatile.Read(ref _maxMs)) && Interlocked.CompareExchange(ref _maxMs, ms, seen) != seen)
        {
        }
    }

    public void RecordLocal(double ms)
    {
        _buckets[Index(ms)]++;
        _count++;
        if (ms > _maxMs)
        {
            _maxMs = ms;
        }
    }

    public void Add(Histogram other)
    {
        for (var i = 0; i < _buckets.Length; i++)
        {
            if (other._buckets[i] != 0)
            {
                Interlocked.Add(ref _buckets[i], other._buckets[i]);
            }
        }

        Interlocked.Add(ref _count, other._count);
        double seen;
        while (other._maxMs > (seen = Volatile.Read(ref _maxMs)) && Interlocked.CompareExchange(ref _maxMs, other._maxMs, seen) != seen)
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
                return UpperBound(i);
            }
        }

        return double.NaN;
    }

    public string Summary() => FormattableString.Invariant($"p50 {Percentile(0.5):0.0} ms, p95 {Percentile(0.95):0.0} ms, p99 {Percentile(0.99):0.0} ms, max {Max:0.0} ms, {Count} samples");

    /// <summary>The non-empty buckets and the maximum, as one line of text.</summary>
    public string Serialize()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Max:R}");
        for (var i = 0; i < _buckets.Length; i++)
        {
            if (_buckets[i] != 0)
            {
                text.Append(CultureInfo.InvariantCulture, $" {i}:{_buckets[i]}");
            }
        }

        return text.ToString();
    }

    public static Histogram Deserialize(string text)
    {
        var histogram = new Histogram();
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        histogram._maxMs = double.Parse(parts[0], CultureInfo.InvariantCulture);
        foreach (var part in parts.Skip(1))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            var count = long.Parse(part.AsSpan(colon + 1), CultureInfo.InvariantCulture);
            histogram._buckets[int.Parse(part.AsSpan(0, colon), CultureInfo.InvariantCulture)] = count;
            histogram._count += count;
        }

        return histogram;
    }

    private static int Index(double ms) => ms < 1000
        ? (int)Math.Max(ms * 10, 0)
        : FineBuckets + (int)Math.Min((ms - 1000) / 10, CoarseBuckets - 1);

    private static double UpperBound(int index) => index < FineBuckets ? (index + 1) * 0.1 : 1000 + ((index - FineBuckets + 1) * 10.0);
}
