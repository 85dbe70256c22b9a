using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>
/// Runs the sample host (samples/BuildStatus.Sample, the README's first command) twice on a fresh database, as a
/// user would, and checks that the second run's history shows the first run's builds.
/// </summary>
[TestFixture]
[NonParallelizable] // spawns processes with timing-sensitive output; keep it off the other tests' cores
public sealed class SampleHostTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(45);
    private static readonly string[] Builders = ["hello", "checks", "flaky"];

    [Test]
    [CancelAfter(120_000)]
    public async Task SampleHost_RunTwice_SecondRunShowsTheFirstRunsBuildsInHistory(CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("buildstatus-sample-test-");
        try
        {
            // First run: default database file in the working directory.
            var first = await RunSampleAsync(dir.FullName, ["--builds", "1"], cancellationToken);
            Assert.That(first.ExitCode, Is.EqualTo(0), first.Output);
            var db = Path.Combine(dir.FullName, "buildstatus-sample.db");
            Assert.That(File.Exists(db), Is.True, "the default database is created in the working directory");
            Assert.That(first.Output, Does.Contain("No stored builds yet"), first.Output);

            // Second run: the same file, named with --db.
            var second = await RunSampleAsync(dir.FullName, ["--builds", "1", "--db", db], cancellationToken);
            Assert.That(second.ExitCode, Is.EqualTo(0), second.Output);

            var historyAt = second.Output.IndexOf("History in", StringComparison.Ordinal);
            Assert.That(historyAt, Is.GreaterThanOrEqualTo(0), second.Output);
            var history = second.Output[historyAt..];
            Assert.Multiple(() =>
            {
                Assert.That(second.Output, Does.Contain("Stored builds from earlier runs"));
                foreach (var builder in Builders)
                {
                    // Newest first: this run's #2, then the first run's #1, under the builder's heading.
                    Assert.That(history, Does.Match($@"(?m)^  {builder} .*\r?\n +#2 +\S+.*\r?\n +#1 +\S+"), $"history of '{builder}':\n{second.Output}");
                }

                // flaky fails on odd build numbers: the log tail of its failure is read back from the database.
                Assert.That(history, Does.Contain("Last failure: flaky #1"));
                Assert.That(history, Does.Contain("err| FAIL: test_network").Or.Contain("err| oops"));
            });

            var historyOnly = await RunSampleAsync(dir.FullName, ["--history-only", "--db", db], cancellationToken);
            Assert.That(historyOnly.ExitCode, Is.EqualTo(0), historyOnly.Output);
            Assert.That(historyOnly.Output, Does.Not.Contain("build started"));
            Assert.That(historyOnly.Output, Does.Match(@"(?m)^  hello .*\r?\n +#2 .*\r?\n +#1 "));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SampleHost_OtelConsole_PrintsBuildAndStepSpansAndCicdMetrics(CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("buildstatus-sample-test-");
        try
        {
            var run = await RunSampleAsync(dir.FullName, ["--builds", "1", "--otel-console"], cancellationToken);

            Assert.That(run.ExitCode, Is.EqualTo(0), run.Output);
            Assert.Multiple(() =>
            {
                foreach (var builder in Builders)
                {
                    Assert.That(run.Output, Does.Contain($"cicd.pipeline.name: {builder}"), run.Output);
                }

                Assert.That(run.Output, Does.Contain("cicd.pipeline.task.name: greet"));
                Assert.That(run.Output, Does.Contain("cicd.pipeline.result: failure"), "flaky #1 fails");
                Assert.That(run.Output, Does.Contain("Metric Name: cicd.pipeline.run.duration"));
                Assert.That(run.Output, Does.Contain("Metric Name: cicd.worker.count"));
            });
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [TestCase("--builds", "0")]
    [TestCase("--builds")]
    [TestCase("--no-such-option")]
    public async Task SampleHost_BadArguments_ExitWithCode2AndAMessage(params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("buildstatus-sample-test-");
        try
        {
            var run = await RunSampleAsync(dir.FullName, args, CancellationToken.None);

            Assert.That(run.ExitCode, Is.EqualTo(2), run.Output);
            Assert.That(run.Output, Does.Contain("error:"));
            Assert.That(Directory.GetFiles(dir.FullName), Is.Empty, "nothing is created for bad arguments");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunSampleAsync(string workingDirectory, string[] args, CancellationToken cancellationToken)
    {
        // The sample is built with this test project (ProjectReference) and copied next to the test assembly.
        var sample = Path.Combine(AppContext.BaseDirectory, "BuildStatus.Sample.dll");
        Assert.That(File.Exists(sample), Is.True, $"{sample} exists");

        var startInfo = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(sample);
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(startInfo)!; // qualified: BuildStatus.Process is a namespace
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RunTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Assert.Fail($"the sample did not finish within {RunTimeout.TotalSeconds} s:\n{await stdout}\n{await stderr}");
        }

        output.Append(await stdout).Append(await stderr);
        return (process.ExitCode, output.ToString());
    }

    // The muxer that runs this test (set by the dotnet CLI for its children), else "dotnet" on the PATH.
    private static string DotnetHost()
    {
        var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
        {
            return hostPath;
        }

        var processPath = Environment.ProcessPath;
        return processPath is not null && Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? processPath
            : "dotnet";
    }
}
