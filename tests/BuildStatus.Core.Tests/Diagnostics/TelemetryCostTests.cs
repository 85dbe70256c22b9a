using System.Diagnostics.Metrics;
using BuildStatus.Core.Tests.Support;
using BuildStatus.Diagnostics;
using BuildStatus.Process;

namespace BuildStatus.Core.Tests.Diagnostics;

/// <summary>
/// Telemetry stays off the append path even when someone listens, and off the step path when nobody does.
/// </summary>
[TestFixture]
public sealed class TelemetryCostTests
{
    [Test]
    [NonParallelizable] // listeners are process-wide: other fixtures' collectors must not be attached
    public async Task StepHooks_NobodyListening_AllocateNothing()
    {
        // The hooks themselves, not the whole step path: the step path also queues the step for the writer, and
        // what that allocates on this thread depends on how far the writer lags behind on a loaded machine.
        Assume.That(BuildStatusTelemetry.Source.HasListeners(), Is.False, "a listener of another test is attached");
        await using var t = await TestHost.StartAsync();
        var build = await t.Host.AddBuilder(ActivityCollector.NewBuilderName()).StartBuildAsync();
        var steps = Enumerable.Range(0, 100).Select(i => (Step)build.AddStep("s" + i)).ToArray();
        var now = DateTimeOffset.UtcNow;

        // Warm up (JIT), then measure on this thread: a span, its tags or a boxed value would cost bytes per step.
        Run(1_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(100_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"{allocated} bytes allocated by 100,000 step starts and finishes with nobody listening");
        Assert.That(allocated, Is.LessThan(1_000), "far less than a byte per step");
        await build.FinishAsync().WaitAsync(TimeSpan.FromSeconds(30));

        void Run(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var step = steps[i % steps.Length];
                BuildStatusTelemetry.StepStarted(step, now);
                BuildStatusTelemetry.StepFinished(step, now, now, BuildResult.Success);
            }
        }
    }

    [Test]
    public async Task AppendAsync_WhileEveryBuildStatusSpanAndInstrumentIsListenedTo_AllocatesFarLessThanAStringPerLine()
    {
        using var spans = new ActivityCollector();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "BuildStatus")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        long measurements = 0;
        meters.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref measurements));
        meters.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref measurements));
        meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measurements));
        meters.Start();

        await using var t = await TestHost.StartAsync();
        var name = ActivityCollector.NewBuilderName();
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host, name);
        const int linesPerAppend = 20;
        var text = new char[linesPerAppend * 81];
        for (var i = 0; i < linesPerAppend; i++)
        {
            text.AsSpan(i * 81, 80).Fill((char)('a' + i));
            text[(i * 81) + 80] = '\n';
        }

        // Warm up, then measure on this thread only (no await: the writer's allocations happen on its own thread).
        AppendLines(2_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        AppendLines(10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"{allocated / 10_000.0:0.00} bytes allocated per line appended, traced and metered");
        Assert.That(allocated / 10_000.0, Is.LessThan(16), $"{allocated} bytes allocated for 10,000 lines of 80 chars");
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // The listeners did listen: the build was traced and the writer measured.
        Assert.That(spans.Children(spans.Build(name, build.Number)).Single().DisplayName, Is.EqualTo("compile"));
        Assert.That(Interlocked.Read(ref measurements), Is.GreaterThan(0));

        void AppendLines(int lines)
        {
            for (var appended = 0; appended < lines; appended += linesPerAppend)
            {
                if (!log.AppendAsync(LogChannel.Stdout, text.AsMemory()).IsCompletedSuccessfully)
                {
                    throw new AssertionException("The append had to wait, but the queue has room.");
                }

                if (appended % 200 == 0)
                {
                    // Let the writer keep up, as it does in a running host, so the pending buffer keeps its size.
                    t.Host.FlushAsync().GetAwaiter().GetResult();
                }
            }
        }
    }
}
