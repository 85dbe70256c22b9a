using BuildStatus;

namespace BuildStatusSample;

/// <summary>A shell command that a step runs, with its exit-code mapping (Buildbot's <c>decodeRC</c>).</summary>
/// <param name="StepName">The step name shown in status and history.</param>
/// <param name="Unix">The script for <c>sh -c</c>.</param>
/// <param name="Windows">The script for <c>cmd /c</c> (the sample is written for Linux and macOS; this is a best effort).</param>
/// <param name="WarningExitCodes">Exit codes that mean <see cref="BuildResult.Warnings"/> rather than failure.</param>
/// <param name="HaltOnFailure">Whether a failure skips the rest of the build.</param>
internal sealed record ShellCommand(
    string StepName,
    string Unix,
    string Windows,
    IReadOnlySet<int>? WarningExitCodes = null,
    bool HaltOnFailure = true)
{
    /// <summary>Maps an exit code to a step result: 0 is success, listed codes are warnings, the rest failure.</summary>
    /// <param name="exitCode">The process exit code.</param>
    /// <returns>The step result.</returns>
    public BuildResult DecodeExitCode(int exitCode) => exitCode switch
    {
        0 => BuildResult.Success,
        _ when WarningExitCodes?.Contains(exitCode) == true => BuildResult.Warnings,
        _ => BuildResult.Failure,
    };
}

/// <summary>A builder's configuration: its name, description, tags and the steps every build runs.</summary>
internal sealed record Pipeline(string Name, string Description, string[] Tags, ShellCommand[] Steps);

/// <summary>The builders this sample host is configured with. A real host would load these from its configuration.</summary>
internal static class Pipelines
{
    public static readonly Pipeline[] All =
    [
        new(
            "hello",
            "Says hello and looks around the machine",
            ["demo"],
            [
                new("greet", "echo \"Hello from build $BUILD_NUMBER of $BUILDER_NAME\"; uname -a; ls /",
                    "echo Hello from build %BUILD_NUMBER% of %BUILDER_NAME% & ver & dir /b C:\\"),
                new("count", "for i in $(seq 1 50); do echo line $i; sleep 0.01; done",
                    "for /l %i in (1,1,50) do @echo line %i"),
            ]),
        new(
            "checks",
            "Lint with warnings, then a slow test suite",
            ["demo", "tests"],
            [
                // The linter exits 1 for "warnings only": WarningExitCodes maps that to Warnings, not Failure.
                new("lint", "echo \"linting 3 files\"; echo \"src/app.c:12: warning: unused variable x\" >&2; exit 1",
                    "echo linting 3 files & echo src/app.c:12: warning: unused variable x 1>&2 & exit /b 1",
                    WarningExitCodes: new HashSet<int> { 1 }),
                new("unit-tests", "for i in $(seq 1 20); do echo \"test_$i ... ok\"; sleep 0.1; done; echo \"20 passed\"",
                    "for /l %i in (1,1,20) do @echo test_%i ... ok"),
            ]),
        new(
            "flaky",
            "Fails on every odd build number, like a flaky network test",
            ["demo", "flaky"],
            [
                new("compile", "echo \"cc -o app main.c\"; sleep 0.3; echo \"built app\"",
                    "echo cc -o app main.c & echo built app"),
                new("test-network",
                    "echo \"connecting to test server...\"; sleep 0.2; " +
                    "if [ $((BUILD_NUMBER % 2)) -eq 1 ]; then echo \"oops: connection timed out\" >&2; echo \"FAIL: test_network\" >&2; exit 1; fi; " +
                    "echo \"PASS: test_network\"",
                    "echo connecting to test server... & echo oops: connection timed out 1>&2 & exit /b 1"),
                new("package", "echo \"tar czf app.tgz app\"; echo packaged",
                    "echo packaged"),
            ]),
    ];
}
