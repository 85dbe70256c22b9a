using System.Diagnostics;
using System.Diagnostics.Metrics;
using BuildStatus.Diagnostics;

namespace BuildStatus.Hosting;

/// <summary>
/// The host's <see cref="System.Diagnostics.Metrics"/> instruments, on a meter named <see cref="MeterName"/>.
/// One instance per host (created from <see cref="IMeterFactory"/> when DI has one), so two hosts in one
/// process do not share counters. Every measurement carries the host dimension
/// (<see cref="CicdConventions.HostName"/> = <see cref="BuildStatusOptions.HostName"/>).
/// </summary>
/// <remarks>
/// The instruments are immutable and thread-safe; the only mutable state is <see cref="_disposed"/> (volatile), which
/// stops the observable instruments from reading a host that was disposed while the meter lives on in its factory.
/// </remarks>
internal sealed class BuildStatusMetrics : IDisposable
{
    public const string MeterName = "BuildStatus";

    // Seconds: a build takes from a second to a few hours; the SDK's default buckets are made for milliseconds.
    private static readonly double[] RunDurationBuckets = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800, 14400];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?> _host;

    /// <summary>Gets the instance tag every tagged measurement carries once the host has registered an instance.</summary>
    public InstanceTag Instance { get; } = new();
    private readonly Histogram<double> _runDuration;
    private readonly Counter<long> _runErrors;
    private volatile bool _disposed;

    public BuildStatusMetrics(IMeterFactory? factory, string? hostName = null)
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

        _host = new KeyValuePair<string, object?>(CicdConventions.HostName, hostName ?? string.Empty);
        BatchSize = new(_meter.CreateHistogram<int>("buildstatus.writer.batch_size", "{write}", "Rows and chunks per committed storage batch."), _host, Instance);
        CommitLatency = new(_meter.CreateHistogram<double>("buildstatus.writer.commit_latency", "ms", "Time to commit one storage batch."), _host, Instance);
        CommitFailures = new(_meter.CreateCounter<long>("buildstatus.writer.failures", "{failure}", "Failed storage commits."), _host, Instance);
        Retries = new(_meter.CreateCounter<long>("buildstatus.writer.retries", "{retry}", "Storage commit retries."), _host, Instance);
        RejectedBatches = new(_meter.CreateCounter<long>("buildstatus.writer.rejected_batches", "{batch}", "Batches the backend rejected as impossible (BatchRejectedException); the rest of each was committed without the offending rows."), _host, Instance);
        Quarantined = new(_meter.CreateCounter<long>("buildstatus.writer.quarantined", "{entity}", "Entity snapshots (a build's row, a step, a log's new lines) the backend rejected: logged with their keys and never stored."), _host, Instance);
        SnapshotFailures = new(_meter.CreateCounter<long>("buildstatus.writer.snapshot_failures", "{failure}", "Snapshots that threw while a batch was formed (a defect); the entity stays queued."), _host, Instance);
        BackpressureWaits = new(_meter.CreateCounter<long>("buildstatus.writer.backpressure_waits", "{wait}", "Log appends that waited for queue space."), _host, Instance);
        BuildsStarted = new(_meter.CreateCounter<long>("buildstatus.builds.started", "{build}", "Builds started."), _host, Instance);
        BuildsFinished = new(_meter.CreateCounter<long>("buildstatus.builds.finished", "{build}", "Builds finished."), _host, Instance);
        _runDuration = _meter.CreateHistogram(
            "cicd.pipeline.run.duration",
            "s",
            "Duration of a pipeline run grouped by pipeline, state and result.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RunDurationBuckets });
        _runErrors = _meter.CreateCounter<long>("cicd.pipeline.run.errors", "{error}", "The number of errors encountered in pipeline runs (eg. compile, test failures).");
    }

    public TaggedHistogram<int> BatchSize { get; }

    public TaggedHistogram<double> CommitLatency { get; }

    public TaggedCounter CommitFailures { get; }

    public TaggedCounter Retries { get; }

    public TaggedCounter BackpressureWaits { get; }

    public TaggedCounter RejectedBatches { get; }

    public TaggedCounter Quarantined { get; }

    public TaggedCounter SnapshotFailures { get; }

    public TaggedCounter BuildsStarted { get; }

    public TaggedCounter BuildsFinished { get; }

    /// <summary>Registers the gauges that read live values from the host.</summary>
    public void Observe(Func<int> queueLength, Func<long> queueBytes, Func<long> eventsDropped)
    {
        _meter.CreateObservableGauge("buildstatus.writer.queue_length", () => new Measurement<int>(queueLength(), _host), "{entry}", "Changed objects waiting for the writer.");
        _meter.CreateObservableGauge("buildstatus.writer.queue_bytes", () => new Measurement<long>(queueBytes(), _host), "By", "Bytes of log text waiting for the writer.");
        _meter.CreateObservableCounter("buildstatus.events.dropped", () => new Measurement<long>(eventsDropped(), _host), "{event}", "Events dropped because a subscriber's buffer was full.");
    }

    /// <summary>
    /// Registers the CI/CD up-down counters that count, when a listener collects, the host's builds by state and its
    /// workers by state. Nothing is computed while nobody collects.
    /// </summary>
    public void ObserveStatus(IStatus status)
    {
        _meter.CreateObservableUpDownCounter("cicd.pipeline.run.active", () => ActiveRuns(status), "{run}", "The number of pipeline runs currently active in the system by state.");
        _meter.CreateObservableUpDownCounter("cicd.worker.count", () => Workers(status), "{count}", "The number of workers on the CICD system by state.");
    }

    /// <summary>Records how long a build waited as a request (<c>pending</c>) before it started.</summary>
    public void RecordRunPending(string pipeline, TimeSpan waited)
    {
        if (!_runDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { CicdConventions.PipelineName, pipeline },
            { CicdConventions.PipelineRunState, CicdConventions.StatePending },
            _host,
        };
        _runDuration.Record(Seconds(waited), tags);
    }

    /// <summary>Records a finished build: its <c>executing</c> duration and result, and an error when it failed.</summary>
    public void RecordRunFinished(string pipeline, BuildResult result, TimeSpan duration)
    {
        var errorType = CicdConventions.ErrorTypeOf(result);
        if (_runDuration.Enabled)
        {
            var tags = new TagList
            {
                { CicdConventions.PipelineName, pipeline },
                { CicdConventions.PipelineRunState, CicdConventions.StateExecuting },
                { CicdConventions.PipelineResult, CicdConventions.Result(result) },
                _host,
            };
            if (errorType is not null)
            {
                tags.Add(CicdConventions.ErrorType, errorType);
            }

            _runDuration.Record(Seconds(duration), tags);
        }

        if (errorType is not null && _runErrors.Enabled)
        {
            _runErrors.Add(1, new KeyValuePair<string, object?>(CicdConventions.PipelineName, pipeline), new KeyValuePair<string, object?>(CicdConventions.ErrorType, errorType), _host);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    // A clock that steps back (a test's FakeTimeProvider, an NTP correction) must not record a negative duration.
    private static double Seconds(TimeSpan duration) => Math.Max(0, duration.TotalSeconds);

    private List<Measurement<long>> ActiveRuns(IStatus status)
    {
        var measurements = new List<Measurement<long>>();
        if (_disposed)
        {
            return measurements;
        }

        foreach (var builder in status.Builders)
        {
            measurements.Add(new Measurement<long>(builder.CurrentBuilds.Count, new TagList
            {
                { CicdConventions.PipelineName, builder.Name },
                { CicdConventions.PipelineRunState, CicdConventions.StateExecuting },
                _host,
            }));
            measurements.Add(new Measurement<long>(builder.PendingRequests.Count, new TagList
            {
                { CicdConventions.PipelineName, builder.Name },
                { CicdConventions.PipelineRunState, CicdConventions.StatePending },
                _host,
            }));
        }

        return measurements;
    }

    private List<Measurement<long>> Workers(IStatus status)
    {
        if (_disposed)
        {
            return [];
        }

        long available = 0, busy = 0, offline = 0;
        foreach (var worker in status.Workers)
        {
            if (!worker.IsConnected)
            {
                offline++;
            }
            else if (worker.RunningBuilds.Count > 0)
            {
                busy++;
            }
            else
            {
                available++;
            }
        }

        return
        [
            new Measurement<long>(available, new KeyValuePair<string, object?>(CicdConventions.WorkerState, CicdConventions.WorkerAvailable), _host),
            new Measurement<long>(busy, new KeyValuePair<string, object?>(CicdConventions.WorkerState, CicdConventions.WorkerBusy), _host),
            new Measurement<long>(offline, new KeyValuePair<string, object?>(CicdConventions.WorkerState, CicdConventions.WorkerOffline), _host),
        ];
    }
}
