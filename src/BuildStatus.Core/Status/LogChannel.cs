namespace BuildStatus;

/// <summary>The stream a log line came from (Buildbot's <c>o</c>, <c>e</c> and <c>h</c> channels).</summary>
public enum LogChannel : byte
{
    /// <summary>The process's standard output.</summary>
    Stdout = 0,

    /// <summary>The process's standard error.</summary>
    Stderr = 1,

    /// <summary>Text written by the build machinery itself (the command line, the exit code).</summary>
    Header = 2,
}
