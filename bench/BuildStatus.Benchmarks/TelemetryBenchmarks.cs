using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;

namespace BuildStatus.Benchmarks;

/// <summary>
/// What the telemetry hooks cost on the status path: a step starts and finishes (StatusMutation's StepStartFinish,
/// stalled store) with nobody listening, with an <see cref="ActivityListener"/> that records every BuildStatus span,
/// and with that plus a <see cref="MeterListener"/> on every BuildStatus instrument.
/// </summary>
/// <remarks>
/// The setup is StatusMutation's (fresh builds and steps per iteration, hence the fixed invocation count). The
/// listeners do nothing with what they get, so the figures are the library's own cost: creating, tagging and
/// ending the spans. <c>none</c> is the baseline and must match StatusMutation's stalled StepStartFinish.
/// </remarks>
[InvocationCount(Invocations)]
public class TelemetryBenchmarks
{
    private const int Invocations = 1 << 16;
    private const int StepsPerBuild = 1024;

    private BenchHost _host = null!;
    private ActivityListener? _spans;
    private MeterListener? _meters;
    private readonly List<IBuild> _builds = [];
    private IStep[] _steps = [];
    private int _next;

    [Params("none", "traces", "traces+metrics")]
    public string Listening { get; set; } = "none";

    [GlobalSetup]
    public void GlobalSetup()
    {
        if (Listening != "none")
        {
            _spans = new ActivityListener
            {
                ShouldListenTo = s => s.Name == BuildStatusDiagnostics.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(_spans);
        }

        if (Listening == "traces+metrics")
        {
            _meters = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == BuildStatusDiagnostics.MeterName)
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meters.SetMeasurementEventCallback<int>((_, _, _, _) => { });
            _meters.SetMeasurementEventCallback<long>((_, _, _, _) => { });
            _meters.SetMeasurementEventCallback<double>((_, _, _, _) => { });
            _meters.Start();
        }

        _host = BenchHost.Start();
        _host.Host.AddBuilder("b");
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _host.Store.Release();
        _host.Host.FlushAsync().GetAwaiter().GetResult();
        _host.Store.Stall();
        _steps = new IStep[Invocations];
        for (var i = 0; i < _steps.Length; i++)
        {
            if (i % StepsPerBuild == 0)
            {
                _builds.Add(_host.Host.StartBuildAsync("b").GetAwaiter().GetResult());
            }

            _steps[i] = _builds[^1].AddStep("s");
        }

        _next = 0;

        // Let the writer take the setup's rows now, so their snapshots are not counted in the measured iteration.
        Thread.Sleep(50);
    }

    [IterationCleanup]
    public void IterationCleanup()
    {
        foreach (var build in _builds)
        {
            _ = build.FinishAsync();
        }

        _builds.Clear();
        _host.Store.Release();
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _spans?.Dispose();
        _meters?.Dispose();
    }

    /// <summary>Two mutations: a step starts, then finishes.</summary>
    [Benchmark]
    public void StepStartFinish()
    {
        var step = _steps[_next++];
        step.Start();
        step.Finish(BuildResult.Success);
    }
}
