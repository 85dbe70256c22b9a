namespace BuildStatus.Diagnostics;

/// <summary>
/// Names and values of OpenTelemetry's CI/CD and VCS semantic conventions (status "development"), and how
/// BuildStatus maps its own results onto them. Kept in one place so the spans, the metrics and the README agree.
/// </summary>
internal static class CicdConventions
{
    public const string PipelineName = "cicd.pipeline.name";
    public const string PipelineRunId = "cicd.pipeline.run.id";
    public const string PipelineRunState = "cicd.pipeline.run.state";
    public const string PipelineResult = "cicd.pipeline.result";
    public const string TaskName = "cicd.pipeline.task.name";
    public const string TaskRunId = "cicd.pipeline.task.run.id";
    public const string TaskRunResult = "cicd.pipeline.task.run.result";
    public const string WorkerName = "cicd.worker.name";
    public const string WorkerState = "cicd.worker.state";
    public const string ErrorType = "error.type";
    public const string RepositoryUrl = "vcs.repository.url.full";
    public const string RefHeadName = "vcs.ref.head.name";
    public const string RefHeadType = "vcs.ref.head.type";
    public const string RefHeadRevision = "vcs.ref.head.revision";

    /// <summary>BuildStatus's own result name (lower case), kept because the convention's values merge some.</summary>
    public const string BuildStatusResult = "buildstatus.result";

    /// <summary>The host dimension: <see cref="BuildStatusOptions.HostName"/>.</summary>
    public const string HostName = "buildstatus.host.name";

    /// <summary>The tag that names this host's instance (stores with instances), beside the host name.</summary>
    public const string InstanceId = "buildstatus.instance.id";

    public const string StatePending = "pending";
    public const string StateExecuting = "executing";
    public const string WorkerAvailable = "available";
    public const string WorkerBusy = "busy";
    public const string WorkerOffline = "offline";
    public const string RefTypeBranch = "branch";

    /// <summary>
    /// The convention's <c>cicd.pipeline.result</c> (and <c>cicd.pipeline.task.run.result</c>) value of a result:
    /// Success and Warnings are <c>success</c>, Failure <c>failure</c>, Skipped <c>skip</c>, Exception and Retry
    /// (the build machinery failed, or a worker or host was lost) <c>error</c>, Cancelled <c>cancellation</c>.
    /// </summary>
    public static string Result(BuildResult result) => result switch
    {
        BuildResult.Success or BuildResult.Warnings => "success",
        BuildResult.Failure => "failure",
        BuildResult.Skipped => "skip",
        BuildResult.Exception or BuildResult.Retry => "error",
        BuildResult.Cancelled => "cancellation",
        _ => "error",
    };

    /// <summary>
    /// The <c>error.type</c> of a result that counts as an error (Failure, Exception, Retry): BuildStatus's result
    /// name in lower case; <see langword="null"/> for the others.
    /// </summary>
    public static string? ErrorTypeOf(BuildResult result) => result switch
    {
        BuildResult.Failure => "failure",
        BuildResult.Exception => "exception",
        BuildResult.Retry => "retry",
        _ => null,
    };

    /// <summary>BuildStatus's own result name in lower case, without allocating.</summary>
    public static string Name(BuildResult result) => result switch
    {
        BuildResult.Success => "success",
        BuildResult.Warnings => "warnings",
        BuildResult.Failure => "failure",
        BuildResult.Skipped => "skipped",
        BuildResult.Exception => "exception",
        BuildResult.Retry => "retry",
        BuildResult.Cancelled => "cancelled",
        _ => "unknown",
    };
}
