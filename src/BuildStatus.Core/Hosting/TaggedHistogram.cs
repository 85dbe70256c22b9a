using System.Diagnostics.Metrics;

namespace BuildStatus.Hosting;

/// <summary>A histogram whose every measurement carries the host's tags (<see cref="BuildStatusMetrics"/>). Immutable.</summary>
/// <typeparam name="T">The measurement type.</typeparam>
internal sealed class TaggedHistogram<T>
    where T : struct
{
    private readonly Histogram<T> _histogram;
    private readonly KeyValuePair<string, object?> _host;
    private readonly InstanceTag _instance;

    public TaggedHistogram(Histogram<T> histogram, KeyValuePair<string, object?> host, InstanceTag instance)
    {
        _histogram = histogram;
        _host = host;
        _instance = instance;
    }

    public bool Enabled => _histogram.Enabled;

    /// <summary>Records <paramref name="value"/>; allocates nothing, and returns at once when nobody listens.</summary>
    public void Record(T value)
    {
        if (_instance.Value is { } instance)
        {
            _histogram.Record(value, _host, new KeyValuePair<string, object?>(Diagnostics.CicdConventions.InstanceId, instance));
        }
        else
        {
            _histogram.Record(value, _host);
        }
    }
}
