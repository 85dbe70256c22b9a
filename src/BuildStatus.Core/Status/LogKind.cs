namespace BuildStatus;

/// <summary>What a log holds, which tells a renderer how to show it.</summary>
public enum LogKind : byte
{
    /// <summary>Interleaved stdout/stderr/header lines of a command (Buildbot's <c>s</c>).</summary>
    Stdio = 0,

    /// <summary>Plain text (Buildbot's <c>t</c>).</summary>
    Text = 1,

    /// <summary>HTML to be shown as it is (Buildbot's <c>h</c>).</summary>
    Html = 2,
}
