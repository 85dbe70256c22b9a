using System.Globalization;
using BuildStatus;

namespace BuildStatusSample;

/// <summary>
/// Live progress on the console, from the status side only: status events for starts and finishes, and a
/// periodic one-line summary read straight from <see cref="IStatus"/> (status reads are synchronous RAM reads).
/// </summary>
internal sealed class ProgressPrinter(IStatus status, TimeProvider time, TextWriter output)
{
    private const StatusEventKinds Interesting =
        StatusEventKinds.BuildStarted | StatusEventKinds.StepStarted | StatusEventKinds.StepFinished | StatusEventKinds.BuildFinished;

    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private readonly TaskCompletionSource _allFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _buildsToFinish;

    /// <summary>Prints events until cancelled or until <paramref name="expectedBuilds"/> builds have finished.</summary>
    /// <param name="expectedBuilds">How many builds the run starts.</param>
    /// <param name="cancellationToken">Stops watching.</param>
    /// <returns>The watch loop.</returns>
    /// <remarks>
    /// The stream is registered when <see cref="IStatus.WatchAsync"/> is called, so call this before starting builds.
    /// Delivery is ordered and isolated: a slow console never slows a build down; if this reader fell so far behind
    /// that its buffer overflowed it would get an <see cref="EventsMissed"/> event rather than silently lose events.
    /// </remarks>
    public Task WatchAsync(int expectedBuilds, CancellationToken cancellationToken)
    {
        _buildsToFinish = expectedBuilds;
        var events = status.WatchAsync(new StatusEventFilter { Kinds = Interesting }, cancellationToken);
        return PrintEventsAsync(events, cancellationToken);
    }

    /// <summary>Completes when the watch loop has printed every expected <see cref="BuildFinished"/>.</summary>
    public Task AllBuildsPrinted => _allFinished.Task;

    /// <summary>Prints a one-line summary of the running builds every <paramref name="period"/>.</summary>
    /// <param name="period">The interval.</param>
    /// <param name="cancellationToken">Stops the summaries.</param>
    /// <returns>The loop; it ends when cancelled.</returns>
    public async Task PrintSummariesAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var running = status.CurrentBuilds;
                if (running.Count == 0)
                {
                    continue;
                }

                var now = time.GetUtcNow();
                var parts = running
                    .OrderBy(b => b.Builder.Name, StringComparer.Ordinal)
                    .Select(b => $"{b.Builder.Name} #{b.Number} {Describe(b)}{EtaText(b.Eta, now)}");
                output.WriteLine($"{Stamp(now)}   .. running: {string.Join(" | ", parts)}");
            }
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    private async Task PrintEventsAsync(IAsyncEnumerable<StatusEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in events.WithCancellation(cancellationToken))
            {
                var line = e switch
                {
                    BuildStarted s => $"build started   {s.Build.Builder.Name} #{s.Build.Number} on {s.Build.WorkerName}"
                                      + EtaText(s.Build.Eta, e.Timestamp),
                    StepStarted s => $"  step started  {s.Step.Build.Builder.Name} #{s.Step.Build.Number} {s.Step.Name}"
                                     + EtaText(s.Step.Eta, e.Timestamp),
                    StepFinished s => $"  step finished {s.Step.Build.Builder.Name} #{s.Step.Build.Number} {s.Step.Name}: "
                                      + $"{Format.Result(s.Result)}{Format.Took(s.Step.StartedAt, s.Step.FinishedAt)}",
                    BuildFinished s => $"build finished  {s.Build.Builder.Name} #{s.Build.Number}: "
                                       + $"{Format.Result(s.Result)}{Format.Took(s.Build.StartedAt, s.Build.FinishedAt)} ({s.Build.StateText})",
                    EventsMissed m => $"(missed {m.Count} status events)",
                    _ => null,
                };
                if (line is not null)
                {
                    output.WriteLine($"{Stamp(e.Timestamp)} {line}");
                }

                if (e is BuildFinished && Interlocked.Decrement(ref _buildsToFinish) == 0)
                {
                    _allFinished.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped watching.
        }
    }

    private static string Describe(IBuildStatus build)
    {
        var current = build.CurrentStep;
        return current is null
            ? $"({build.StateText})"
            : $"step {current.Number + 1}/{build.Steps.Count} {current.Name}, {LineCount(current)} lines";
    }

    private static long LineCount(IStepStatus step) => step.Logs.Sum(l => l.LineCount);

    private static string EtaText(DateTimeOffset? eta, DateTimeOffset now)
        => eta is { } e ? $" (ETA {Format.Seconds(e > now ? e - now : TimeSpan.Zero)})" : string.Empty;

    private string Stamp(DateTimeOffset at) => $"[{(at - _startedAt).TotalSeconds.ToString("00.0", CultureInfo.InvariantCulture)}s]";
}
