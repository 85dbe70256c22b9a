using System.Collections.Concurrent;
using System.Diagnostics;

namespace BuildStatus.Core.Tests.Diagnostics;

/// <summary>
/// Listens to the BuildStatus activity source and keeps every span that ends. Fixtures run in parallel and the
/// source is process-wide, so tests look spans up by their own (unique) builder names.
/// </summary>
internal sealed class ActivityCollector : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ConcurrentQueue<Activity> _started = new();

    public ActivityCollector(ActivitySamplingResult sampling = ActivitySamplingResult.AllDataAndRecorded)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "BuildStatus",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampling,
            ActivityStarted = a => _started.Enqueue(a),
            ActivityStopped = a => _stopped.Enqueue(a),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> Started => _started.ToArray();

    public IReadOnlyList<Activity> Stopped => _stopped.ToArray();

    /// <summary>Unique per test, so parallel tests never see each other's spans.</summary>
    public static string NewBuilderName() => "otel-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The ended build spans of <paramref name="builder"/>.</summary>
    public IReadOnlyList<Activity> Builds(string builder)
        => Stopped.Where(a => a.Kind == ActivityKind.Server && (string?)a.GetTagItem("cicd.pipeline.name") == builder).ToArray();

    /// <summary>The single ended span of build <paramref name="number"/> of <paramref name="builder"/>.</summary>
    public Activity Build(string builder, int number)
        => Builds(builder).Single(a => (string?)a.GetTagItem("cicd.pipeline.run.id") == number.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The ended child spans of <paramref name="parent"/>, in the order they ended.</summary>
    public IReadOnlyList<Activity> Children(Activity parent)
        => Stopped.Where(a => a.ParentSpanId == parent.SpanId && a.TraceId == parent.TraceId).ToArray();

    public void Dispose() => _listener.Dispose();
}
