using System.Diagnostics.Metrics;

namespace BuildStatus.Hosting;

/// <summary>
/// The host's <see cref="System.Diagnostics.Metrics"/> instruments, on a meter named <see cref="MeterName"/>.
/// One instance per host (created from <see cref="IMeterFactory"/> when DI has one), so two hosts in one
/// process do not share counters.
/// </summary>
internal sealed class BuildStatusMetrics : IDisposable
{
    public const string MeterName = "BuildStatus";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public BuildStatusMetrics(IMeterFactory? factory)
    {
        if (factory is not null)
        {
            _meter = factory.Create(MeterName);
        }
        else
        {
            _meter = new Meter(MeterName);
            _ownsMeter = true;
        }

        BatchSize = _meter.CreateHistogram<int>("buildstatus.writer.batch_size", "{write}", "Rows and chunks per committed storage batch.");
        CommitLatency = _meter.CreateHistogram<double>("buildstatus.writer.commit_latency", "ms", "Time to commit one storage batch.");
        CommitFailures = _meter.CreateCounter<long>("buildstatus.writer.failures", "{failure}", "Failed storage commits.");
        Retries = _meter.CreateCounter<long>("buildstatus.writer.retries", "{retry}", "Storage commit retries.");
        RejectedBatches = _meter.CreateCounter<long>("buildstatus.writer.rejected_batches", "{batch}", "Batches the backend rejected as impossible (BatchRejectedException); the rest of each was committed without the offending rows.");
        Quarantined = _meter.CreateCounter<long>("buildstatus.writer.quarantined", "{entity}", "Entity snapshots (a build's row, a step, a log's new lines) the backend rejected: logged with their keys and never stored.");
        SnapshotFailures = _meter.CreateCounter<long>("buildstatus.writer.snapshot_failures", "{failure}", "Snapshots that threw while a batch was formed (a defect); the entity stays queued.");
        BackpressureWaits = _meter.CreateCounter<long>("buildstatus.writer.backpressure_waits", "{wait}", "Log appends that waited for queue space.");
        BuildsStarted = _meter.CreateCounter<long>("buildstatus.builds.started", "{build}", "Builds started.");
        BuildsFinished = _meter.CreateCounter<long>("buildstatus.builds.finished", "{build}", "Builds finished.");
    }

    public Histogram<int> BatchSize { get; }

    public Histogram<double> CommitLatency { get; }

    public Counter<long> CommitFailures { get; }

    public Counter<long> Retries { get; }

    public Counter<long> BackpressureWaits { get; }

    public Counter<long> RejectedBatches { get; }

    public Counter<long> Quarantined { get; }

    public Counter<long> SnapshotFailures { get; }

    public Counter<long> BuildsStarted { get; }

    public Counter<long> BuildsFinished { get; }

    /// <summary>Registers the gauges that read live values from the host.</summary>
    public void Observe(Func<int> queueLength, Func<long> queueBytes, Func<long> eventsDropped)
    {
        _meter.CreateObservableGauge("buildstatus.writer.queue_length", queueLength, "{entry}", "Changed objects waiting for the writer.");
        _meter.CreateObservableGauge("buildstatus.writer.queue_bytes", queueBytes, "By", "Bytes of log text waiting for the writer.");
        _meter.CreateObservableCounter("buildstatus.events.dropped", eventsDropped, "{event}", "Events dropped because a subscriber's buffer was full.");
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
