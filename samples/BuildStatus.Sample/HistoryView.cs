using System.Globalization;
using BuildStatus;

namespace BuildStatusSample;

/// <summary>
/// Prints the build history from storage: the last builds of every builder, and the log tail of the most recent
/// failure. Everything here is read through <see cref="IBuildHistory"/>, so it includes builds of earlier runs
/// (and of other hosts sharing the database), not just what this process still holds in RAM.
/// </summary>
internal sealed class HistoryView(IBuildHistory history, TextWriter output)
{
    private static readonly IReadOnlySet<BuildResult> Failed = new HashSet<BuildResult> { BuildResult.Failure, BuildResult.Exception };

    /// <summary>Prints the history.</summary>
    /// <param name="buildsPerBuilder">How many of the newest builds to show per builder.</param>
    /// <param name="tailLines">How many log lines of the last failure to show.</param>
    /// <param name="cancellationToken">Ctrl+C.</param>
    /// <returns>A task that completes when printed.</returns>
    public async Task PrintAsync(int buildsPerBuilder, int tailLines, CancellationToken cancellationToken)
    {
        var builders = (await history.GetBuildersAsync(cancellationToken)).OrderBy(b => b.Name, StringComparer.Ordinal).ToArray();
        if (builders.Length == 0)
        {
            output.WriteLine("No builds stored yet. Run the sample without --history-only to make some.");
            return;
        }

        IPersistentBuild? lastFailure = null;
        foreach (var builder in builders)
        {
            output.WriteLine($"  {builder.Name}  ({builder.Description})");

            // Newest first, one page. A page's Next is the query for the following (older) page: keyset paging.
            var page = await builder.QueryBuildsAsync(new BuildQuery(builder.Name) { Limit = buildsPerBuilder }, cancellationToken);
            foreach (var build in page.Builds)
            {
                var started = build.StartedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                var revision = build.SourceStamps.FirstOrDefault()?.Revision ?? "-";
                output.WriteLine(
                    $"    #{build.Number,-4} {Format.Result(build.Result),-9} {Format.Duration(build.StartedAt, build.FinishedAt),7}  " +
                    $"{started}  rev {revision}  {build.StateText}");
            }

            if (page.Next is not null)
            {
                output.WriteLine("    ... older builds not shown");
            }

            // The storage query can filter by result, so finding the last failure needs no scan of all builds.
            var failures = await builder.QueryBuildsAsync(new BuildQuery(builder.Name) { Results = Failed, Limit = 1 }, cancellationToken);
            if (failures.Builds.FirstOrDefault() is { } failure
                && (lastFailure is null || (failure.FinishedAt ?? failure.StartedAt) > (lastFailure.FinishedAt ?? lastFailure.StartedAt)))
            {
                lastFailure = failure;
            }
        }

        if (lastFailure is not null)
        {
            await PrintFailureAsync(lastFailure, tailLines, cancellationToken);
        }
    }

    private async Task PrintFailureAsync(IPersistentBuild build, int tailLines, CancellationToken cancellationToken)
    {
        var steps = await build.GetStepsAsync(cancellationToken);
        var step = steps.FirstOrDefault(s => s.Result is BuildResult.Failure or BuildResult.Exception) ?? steps.LastOrDefault();
        output.WriteLine();
        output.WriteLine($"Last failure: {build.BuilderName} #{build.Number}, step '{step?.Name}' ({build.StateText})");
        if (step is null)
        {
            return;
        }

        foreach (var log in await step.GetLogsAsync(cancellationToken))
        {
            // Logs are stored in chunks of lines and read back by line range, so the tail of a huge log is cheap.
            var first = Math.Max(0, log.LineCount - tailLines);
            var lines = await log.ReadLinesAsync(first, tailLines, cancellationToken);
            output.WriteLine($"  log '{log.Name}', last {lines.Count} of {log.LineCount} lines:");
            foreach (var line in lines)
            {
                var channel = line.Channel switch
                {
                    LogChannel.Stderr => "err",
                    LogChannel.Header => "hdr",
                    _ => "out",
                };
                output.WriteLine($"    {channel}| {line.Text}");
            }
        }
    }
}
