using BuildStatus;

namespace BuildStatus.AspNetCore.Tests.Support;

/// <summary>Drives builds on a host the way a CI host would.</summary>
public static class Builds
{
    private static int _counter;

    /// <summary>A builder name no other test uses.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Interlocked.Increment(ref _counter)}";

    /// <summary>Runs a whole build: steps named compile and test, one log each with <paramref name="lines"/> lines.</summary>
    public static async Task<IBuild> RunAsync(IBuildStatusHost host, string builder, BuildResult testResult = BuildResult.Success, int lines = 3, string branch = "main")
    {
        var build = await host.StartBuildAsync(builder, new BuildStartInfo
        {
            Reason = "test",
            SourceStamps = [new SourceStamp("https://example.org/app.git", branch, "abc123")],
            Properties = new Dictionary<string, PropertyValue> { ["os"] = new("linux", "Worker") },
        });
        foreach (var (name, result) in new[] { ("compile", BuildResult.Success), ("test", testResult) })
        {
            var step = build.AddStep(name);
            step.Start();
            var log = step.AddLog("stdio");
            for (var i = 0; i < lines; i++)
            {
                await log.AppendLineAsync(i % 2 == 0 ? LogChannel.Stdout : LogChannel.Stderr, $"{name} line {i}");
            }

            step.AddUrl("report", "https://example.org/report");
            step.SetStatistic("lines", lines);
            step.Finish(result);
        }

        await build.FinishAsync();
        return build;
    }
}
