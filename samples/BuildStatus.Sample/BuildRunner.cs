using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using BuildStatus;

namespace BuildStatusSample;

/// <summary>
/// Runs builds: starts a build on a builder, runs each step's shell command as a real process, streams its output
/// into the step's log, and finishes steps and the build with results.
/// </summary>
/// <remarks>
/// Everything here talks to the process objects (<see cref="IBuild"/>, <see cref="IStep"/>, <see cref="ILog"/>),
/// which <em>are</em> the live status: each call updates RAM and publishes an event at once, and queues the
/// storage write in the background. Only <see cref="IBuilder.StartBuildAsync"/> (the build number comes from the
/// database) and <see cref="IBuild.FinishAsync"/> (durability) wait for storage.
/// </remarks>
internal sealed class BuildRunner(IWorker worker, TimeProvider time)
{
    private static readonly bool IsWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    /// <summary>Runs <paramref name="count"/> builds of one pipeline, one after the other.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="pipeline">Its steps.</param>
    /// <param name="count">How many builds to run.</param>
    /// <param name="cancellationToken">Ctrl+C.</param>
    /// <returns>The finished builds.</returns>
    public async Task<IReadOnlyList<IBuildStatus>> RunBuildsAsync(IBuilder builder, Pipeline pipeline, int count, CancellationToken cancellationToken)
    {
        var builds = new List<IBuildStatus>();
        for (var i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
        {
            builds.Add(await RunBuildAsync(builder, pipeline, cancellationToken));
        }

        return builds;
    }

    private async Task<IBuildStatus> RunBuildAsync(IBuilder builder, Pipeline pipeline, CancellationToken cancellationToken)
    {
        // A made-up commit, so each build has a source stamp and a change to show.
        var revision = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"{builder.Name}/{time.GetUtcNow():O}")))[..12];
        var info = new BuildStartInfo
        {
            Reason = "sample run",
            SourceStamps = [new SourceStamp("https://example.com/demo/app.git", Branch: "main", Revision: revision, Project: "demo")],
            Changes = [new BuildChange(revision, "alice@example.com", "Make the sample do something")],
            Properties = new Dictionary<string, PropertyValue>
            {
                ["os"] = new(RuntimeInformation.OSDescription, "Worker"),
                ["arch"] = new(RuntimeInformation.OSArchitecture.ToString(), "Worker"),
            },
            Worker = worker,
        };

        // The one status change that waits for storage: the build number is allocated in the database, so numbers
        // continue across runs (and stay unique even with several hosts on one database).
        var build = await builder.StartBuildAsync(info, cancellationToken);
        try
        {
            // Add every step up front, so status shows the whole plan ("step 2/3") while the build runs.
            var steps = pipeline.Steps.Select(command => (command, step: build.AddStep(command.StepName))).ToArray();
            var halted = false;
            foreach (var (command, step) in steps)
            {
                if (halted)
                {
                    // Record skipped steps too, so history shows what did not run.
                    step.Finish(BuildResult.Skipped, "skipped");
                    continue;
                }

                var result = await RunStepAsync(build, step, command, cancellationToken);
                halted = command.HaltOnFailure && !BuildResults.IsPassing(result);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C: record the build as cancelled (its open steps and logs are finished with it) and still wait
            // until that is stored, so the history is complete on the next run.
            await build.FinishAsync(BuildResult.Cancelled, "cancelled by Ctrl+C", CancellationToken.None);
            throw;
        }
        catch (Exception ex)
        {
            // A bug in the host itself: record it on the build (result Exception) rather than leave it running.
            // (Had the process crashed instead, the next start would have finished the build as Retry.)
            await build.FinishAsync(BuildResult.Exception, $"exception: {ex.Message}", CancellationToken.None);
            throw;
        }

        // FinishAsync updates RAM and publishes BuildFinished at once; the returned task completes only when the
        // build, its steps and every log line are committed to the database. After this await the build is
        // durable: a crash now would not lose it. A null result means "the worst of the step results".
        await build.FinishAsync(result: null, StateTextOf(build), CancellationToken.None);
        return build;
    }

    private async Task<BuildResult> RunStepAsync(IBuild build, IStep step, ShellCommand command, CancellationToken cancellationToken)
    {
        step.Start();
        var log = step.AddLog("stdio");

        var (fileName, script) = IsWindows ? ("cmd", command.Windows) : ("sh", command.Unix);
        var commandLine = IsWindows ? $"cmd /c {script}" : $"sh -c {QuoteForSh(script)}";

        // Properties set by steps are visible on the build while it runs and stored with it.
        build.SetProperty("command", commandLine, source: command.StepName);
        step.SetStateText("running");

        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (IsWindows)
        {
            // cmd.exe does its own parsing of the rest of its command line, so pass it through untouched.
            startInfo.Arguments = $"/c {script}";
        }
        else
        {
            startInfo.ArgumentList.Add("-c");
            startInfo.ArgumentList.Add(script);
        }

        // Like any CI host, tell the command which build it is part of.
        startInfo.Environment["BUILDER_NAME"] = build.Builder.Name;
        startInfo.Environment["BUILD_NUMBER"] = build.Number.ToString(CultureInfo.InvariantCulture);

        // Header lines are the host's own notes in the log, kept apart from the command's stdout and stderr.
        await log.AppendLineAsync(LogChannel.Header, $"$ {commandLine}", cancellationToken);

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            // The command could not run at all: that is an exception in the build, not a failing test.
            await log.AppendLineAsync(LogChannel.Header, $"could not start {fileName}: {ex.Message}", cancellationToken);
            step.Finish(BuildResult.Exception, $"could not start {fileName}");
            return BuildResult.Exception;
        }

        // Stream both pipes line by line into the log. An append completes at once while the write queue has
        // room and waits when it is full, so a very chatty command cannot grow memory without bound.
        var stdout = PumpAsync(process.StandardOutput, log, LogChannel.Stdout, cancellationToken);
        var stderr = PumpAsync(process.StandardError, log, LogChannel.Stderr, cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
            await Task.WhenAll(stdout, stderr);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }

            await Task.WhenAll(stdout, stderr).ContinueWith(static _ => { }, TaskScheduler.Default); // observe, ignore
            step.Finish(BuildResult.Cancelled, "cancelled");
            throw;
        }

        var exitCode = process.ExitCode;
        var result = command.DecodeExitCode(exitCode);
        await log.AppendLineAsync(LogChannel.Header, $"exit code {exitCode} -> {result}", cancellationToken);
        step.SetStatistic("exit_code", exitCode);
        step.SetStatistic("lines", log.LineCount);

        // Finishing the step also finishes its open logs.
        step.Finish(result, exitCode == 0 ? "ok" : $"exit code {exitCode}");
        return result;
    }

    // A one-line summary in Buildbot's style: "failed test-network", "warnings lint", "build successful".
    private static string StateTextOf(IBuildStatus build)
    {
        var failed = build.Steps.Where(s => s.Result is BuildResult.Failure or BuildResult.Exception).Select(s => s.Name).ToArray();
        if (failed.Length > 0)
        {
            return $"failed {string.Join(' ', failed)}";
        }

        var warned = build.Steps.Where(s => s.Result is BuildResult.Warnings).Select(s => s.Name).ToArray();
        return warned.Length > 0 ? $"warnings {string.Join(' ', warned)}" : "build successful";
    }

    private static async Task PumpAsync(StreamReader reader, ILog log, LogChannel channel, CancellationToken cancellationToken)
    {
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            await log.AppendLineAsync(channel, line, cancellationToken);
        }
    }

    // How the command would be typed in a POSIX shell, for the log's header line.
    private static string QuoteForSh(string script) => $"'{script.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
