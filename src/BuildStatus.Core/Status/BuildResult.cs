namespace BuildStatus;

/// <summary>
/// The outcome of a build or step. The values and their numbers are Buildbot's result codes, so
/// stored results stay comparable with Buildbot's own history.
/// </summary>
public enum BuildResult
{
    /// <summary>Everything went as planned.</summary>
    Success = 0,

    /// <summary>Completed, but something deserves a look.</summary>
    Warnings = 1,

    /// <summary>The work ran and failed.</summary>
    Failure = 2,

    /// <summary>The work was not run.</summary>
    Skipped = 3,

    /// <summary>The build machinery itself failed (not the code being built).</summary>
    Exception = 4,

    /// <summary>Interrupted (a lost worker, a host restart); the build should be run again.</summary>
    Retry = 5,

    /// <summary>Stopped on request.</summary>
    Cancelled = 6,
}
