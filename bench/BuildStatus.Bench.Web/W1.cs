using System.Diagnostics;
using BuildStatus.Bench;

namespace BuildStatus.Bench.Web;

/// <summary>Workload W1's write phase at concurrency 1, as bench/BuildStatus.Bench runs it (same text and results).</summary>
internal static class W1
{
    /// <summary>Runs <paramref name="builds"/> builds and returns builds per second (until all are committed).</summary>
    /// <param name="buildsPerSecond">When set, each build starts on a schedule of this many a second (a steady load
    /// rather than flat out); a build that is late starts at once.</param>
    public static async Task<double> RunAsync(IBuildStatusHost host, int builds, int firstIndex, double? buildsPerSecond = null)
    {
        var text = new char[WorkloadText.AppendLength];
        var finished = new List<Task>(builds);
        var stopwatch = Stopwatch.StartNew();
        for (var i = firstIndex; i < firstIndex + builds; i++)
        {
            if (buildsPerSecond is { } rate && TimeSpan.FromSeconds((i - firstIndex) / rate) - stopwatch.Elapsed is { } wait && wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var build = await host.StartBuildAsync(WorkloadText.BuilderName(WorkloadText.BuilderOf(i)));
            for (var s = 0; s < WorkloadText.StepsPerBuild; s++)
            {
                var step = build.AddStep(WorkloadText.StepName(s));
                step.Start();
                var log = step.AddLog("stdio");
                for (var line = 0; line < WorkloadText.LinesPerLog; line += WorkloadText.LinesPerAppend)
                {
                    WorkloadText.WriteAppendText(text, i, s, line);
                    await log.AppendAsync(LogChannel.Stdout, text.AsMemory());
                }

                log.Finish();
                step.Finish(WorkloadText.StepResult(i, s));
            }

            finished.Add(build.FinishAsync(i % 50 == 49 ? BuildResult.Exception : null));
        }

        await Task.WhenAll(finished);
        await host.FlushAsync();
        return builds / stopwatch.Elapsed.TotalSeconds;
    }
}
