using System.Diagnostics.Metrics;

namespace BuildStatus.Hosting;

/// <summary>A counter whose every measurement carries the host's tags (<see cref="BuildStatusMetrics"/>). Immutable.</summary>
internal sealed class TaggedCounter
{
    private readonly Counter<long> _counter;
    private readonly KeyValuePair<string, object?> _host;

    public TaggedCounter(Counter<long> counter, KeyValuePair<string, object?> host)
    {
        _counter = counter;
        _host = host;
    }

    public bool Enabled => _counter.Enabled;

    /// <summary>Adds <paramref name="delta"/>; allocates nothing, and returns at once when nobody listens.</summary>
    public void Add(long delta) => _counter.Add(delta, _host);
}
