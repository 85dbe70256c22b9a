namespace BuildStatus.Bench;

/// <summary>Reads W1 back through <see cref="IBuildHistory"/> and compares it with <see cref="WorkloadText"/>.</summary>
internal static class Verifier
{
    private const int MaxErrors = 20;

    public static async Task VerifyAsync(IBuildHistory history, WorkloadOptions options, int[] numbers, WorkloadResult result, CancellationToken cancellationToken)
    {
        var n = options.Builds;

        // Numbers: unique per builder, 1..count in some order (concurrent starts may interleave).
        var indexByNumber = new Dictionary<int, int>[WorkloadText.BuilderCount];
        for (var b = 0; b < indexByNumber.Length; b++)
        {
            indexByNumber[b] = [];
        }

        for (var i = 0; i < n; i++)
        {
            if (!indexByNumber[WorkloadText.BuilderOf(i)].TryAdd(numbers[i], i))
            {
                Error(result, $"build index {i} got number {numbers[i]}, already used by builder {WorkloadText.BuilderOf(i)}");
            }
        }

        // The last 50 builds of every builder: numbers newest first, results and finished flags (only when this
        // process wrote every build of the schema).
        for (var b = 0; options.SharedSchema is null && b < WorkloadText.BuilderCount; b++)
        {
            var name = WorkloadText.BuilderName(b);
            var expected = indexByNumber[b].Keys.OrderByDescending(x => x).Take(50).ToList();
            var page = await history.QueryBuildsAsync(new BuildQuery(name) { Limit = 50 }, cancellationToken);
            var got = page.Builds.Select(x => x.Number).ToList();
            if (!got.SequenceEqual(expected))
            {
                Error(result, $"last 50 of {name}: got [{string.Join(',', got.Take(5))}..], expected [{string.Join(',', expected.Take(5))}..]");
                continue;
            }

            foreach (var build in page.Builds)
            {
                CheckBuild(result, build, indexByNumber[b][build.Number], options.HostName);
            }
        }

        // Steps and every log line of an evenly spread sample of builds.
        var sample = Math.Min(options.VerifyBuilds, n);
        var line = new char[WorkloadText.LineLength];
        for (var k = 0; k < sample; k++)
        {
            var i = (int)((long)k * n / sample);
            var name = WorkloadText.BuilderName(WorkloadText.BuilderOf(i));
            var build = await history.GetBuildAsync(name, numbers[i], cancellationToken);
            if (build is null)
            {
                Error(result, $"build {name} #{numbers[i]} (index {i}) not found");
                continue;
            }

            CheckBuild(result, build, i, options.HostName);
            var steps = await build.GetStepsAsync(cancellationToken);
            if (steps.Count != WorkloadText.StepsPerBuild)
            {
                Error(result, $"build index {i}: {steps.Count} steps");
                continue;
            }

            for (var s = 0; s < steps.Count; s++)
            {
                var step = steps[s];
                if (step.Number != s || step.Name != WorkloadText.StepName(s) || step.Result != WorkloadText.StepResult(i, s) || !step.IsFinished)
                {
                    Error(result, $"build index {i} step {s}: {step.Number} '{step.Name}' {step.Result} finished={step.IsFinished}");
                }

                var logs = await step.GetLogsAsync(cancellationToken);
                if (logs.Count != 1 || logs[0].Name != "stdio" || !logs[0].IsFinished || logs[0].LineCount != WorkloadText.LinesPerLog
                    || logs[0].ByteCount != (long)WorkloadText.LinesPerLog * WorkloadText.LineLength)
                {
                    Error(result, $"build index {i} step {s}: logs {logs.Count}, {(logs.Count > 0 ? $"{logs[0].Name} {logs[0].LineCount} lines {logs[0].ByteCount} bytes finished={logs[0].IsFinished}" : "")}");
                    continue;
                }

                var lines = await logs[0].ReadLinesAsync(cancellationToken: cancellationToken);
                if (lines.Count != WorkloadText.LinesPerLog)
                {
                    Error(result, $"build index {i} step {s}: {lines.Count} lines read");
                    continue;
                }

                for (var j = 0; j < lines.Count; j++)
                {
                    WorkloadText.WriteLine(line, i, s, j);
                    if (lines[j].Number != j || lines[j].Channel != LogChannel.Stdout || !lines[j].Text.AsSpan().SequenceEqual(line))
                    {
                        Error(result, $"build index {i} step {s} line {j}: #{lines[j].Number} {lines[j].Channel} '{lines[j].Text}', expected '{new string(line)}'");
                        break;
                    }
                }

                result.VerifiedLines += lines.Count;
            }

            result.VerifiedBuilds++;
        }
    }

    private static void CheckBuild(WorkloadResult result, IPersistentBuild build, int index, string hostName)
    {
        var expected = WorkloadText.BuildResultOf(index);
        if (!build.IsFinished || build.Result != expected || build.HostName != hostName)
        {
            Error(result, $"build {build.BuilderName} #{build.Number} (index {index}): result {build.Result}, expected {expected}; finished={build.IsFinished} host={build.HostName}");
        }
    }

    private static void Error(WorkloadResult result, string message)
    {
        if (result.Errors.Count < MaxErrors)
        {
            result.Errors.Add(message);
        }
        else if (result.Errors.Count == MaxErrors)
        {
            result.Errors.Add("(more errors not shown)");
        }
    }
}
