using System.Diagnostics.Metrics;

namespace BuildStatus.Hosting;

/// <summary>A counter whose every measurement carries the host's tags (<see cref="BuildStatusMetrics"/>). Immutable.</summary>
internal sealed class TaggedCounter
{
    private readonly Counter<long> _counter;
    private readonly KeyValuePair<string, object?> _host;
    private readonly InstanceTag _instance;

    public TaggedCounter(Counter<long> counter, KeyValuePair<string, object?> host, InstanceTag instance)
    {
        _counter = counter;
        _host = host;
        _instance = instance;
    }

    public bool Enabled => _counter.Enabled;

    /// <summary>Adds <paramref name="delta"/>; allocates nothing, and returns at once when nobody listens.</summary>
    public void Add(long delta)
    {
        if (_instance.Value is { } instance)
        {
            _counter.Add(delta, _host, new KeyValuePair<string, object?>(Diagnostics.CicdConventions.InstanceId, instance));
        }
        else
        {
            _counter.Add(delta, _host);
        }
    }
}
