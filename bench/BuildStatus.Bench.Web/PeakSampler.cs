using System.Diagnostics;

namespace BuildStatus.Bench.Web;

/// <summary>Samples the process working set every 20 ms and keeps the peak.</summary>
internal sealed class PeakSampler : IDisposable
{
    private readonly Timer _timer;
    private long _peak;

    public PeakSampler() => _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(20));

    public double PeakMB
    {
        get
        {
            Sample();
            return Interlocked.Read(ref _peak) / 1048576.0;
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Sample()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var ws = process.WorkingSet64;
        long seen;
        while (ws > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, ws, seen) != seen)
        {
        }
    }
}
