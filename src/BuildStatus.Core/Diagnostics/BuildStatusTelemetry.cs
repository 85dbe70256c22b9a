using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using BuildStatus.Process;
using BuildStatus.Storage;

namespace BuildStatus.Diagnostics;

/// <summary>
/// Traces of builds and steps on the <see cref="Source"/> activity source, following OpenTelemetry's CI/CD
/// conventions, and the CI/CD metrics recorded when a build starts or finishes (<see cref="Hosting.BuildStatusMetrics"/>).
/// The process objects call in at one line each; every entry point returns at once when nobody listens: no
/// <see cref="Activity"/>, no tag list, no lookup.
/// </summary>
/// <remarks>
/// <para>
/// Threading: the open spans of builds and steps live in <see cref="OpenSpans"/> (thread-safe; weak keys, so a build
/// that never finishes takes its span with it when it leaves RAM). A build's span is added before the build is
/// published and removed when the build finishes, under the build's lock; a step's span is added and removed under
/// its build's lock. Listeners' callbacks therefore run on the thread that starts or finishes, for steps and for a
/// build's finish under the build's lock: they must be quick (OpenTelemetry's processors only enqueue).
/// </para>
/// <para>
/// The caller's <see cref="Activity.Current"/> is never changed: a build's span outlives the call that starts it,
/// so it must not become the ambient parent of whatever the host does next. For the same reason a build's span is
/// the root of its own trace unless the host gives a parent (<see cref="BuildStartInfo.ParentContext"/>).
/// </para>
/// </remarks>
internal static class BuildStatusTelemetry
{
    /// <summary>The name of the activity source, <c>BuildStatus</c> (the meter has the same name).</summary>
    public const string SourceName = "BuildStatus";

    /// <summary><c>true</c> on the span of a build that start-up recovery finished.</summary>
    internal const string Recovered = "buildstatus.recovered";

    /// <summary>The activity source of build and step spans. One per process: spans carry the host as a tag.</summary>
    internal static readonly ActivitySource Source = new(SourceName, typeof(BuildStatusTelemetry).Assembly.GetName().Version?.ToString(3));

    private static readonly ConditionalWeakTable<object, Activity> OpenSpans = new();

    /// <summary>Called once the build has its number, before it is published. Records the time it waited as a request.</summary>
    public static void BuildStarted(Build build, BuildStartInfo info)
    {
        if (info.Request is { } request)
        {
            build.Context.Metrics.RecordRunPending(build.Owner.Name, build.StartedAt - request.SubmittedAt);
        }

        if (!Source.HasListeners())
        {
            return;
        }

        var tags = BuildTags(build.Owner.Name, build.Number, build.HostName, build.WorkerName, build.SourceStamps);
        var span = StartDetached(build.Owner.Name, ActivityKind.Server, info.ParentContext ?? default, tags, build.StartedAt);
        if (span is not null)
        {
            OpenSpans.AddOrUpdate(build, span);
        }
    }

    /// <summary>Called under the build's lock when a step starts. A step has a span only when its build has one.</summary>
    public static void StepStarted(Step step, DateTimeOffset startedAt)
    {
        if (!Source.HasListeners() || !OpenSpans.TryGetValue(step.Owner, out var buildSpan))
        {
            return;
        }

        var span = StartDetached(step.Name, ActivityKind.Internal, buildSpan.Context, StepTags(step.Name, step.Number), startedAt);
        if (span is not null)
        {
            OpenSpans.AddOrUpdate(step, span);
        }
    }

    /// <summary>
    /// Called under the build's lock when a step finishes. A step that finishes without having started (its build
    /// finished first) gets a span of no length.
    /// </summary>
    public static void StepFinished(Step step, DateTimeOffset startedAt, DateTimeOffset finishedAt, BuildResult result)
    {
        if (!Source.HasListeners())
        {
            return;
        }

        if (OpenSpans.TryGetValue(step, out var span))
        {
            OpenSpans.Remove(step);
        }
        else if (OpenSpans.TryGetValue(step.Owner, out var buildSpan))
        {
            span = StartDetached(step.Name, ActivityKind.Internal, buildSpan.Context, StepTags(step.Name, step.Number), startedAt);
        }

        if (span is not null)
        {
            End(span, CicdConventions.TaskRunResult, result, step.StateText, finishedAt);
        }
    }

    /// <summary>Called under the build's lock when a build finishes, after its steps did.</summary>
    public static void BuildFinished(Build build, BuildResult result, DateTimeOffset finishedAt)
    {
        build.Context.Metrics.RecordRunFinished(build.Owner.Name, result, finishedAt - build.StartedAt);
        if (!Source.HasListeners() || !OpenSpans.TryGetValue(build, out var span))
        {
            return;
        }

        OpenSpans.Remove(build);
        End(span, CicdConventions.PipelineResult, result, build.StateText, finishedAt);
    }

    /// <summary>
    /// Called when start-up recovery finished a build that a previous run left unfinished, as
    /// <see cref="BuildResult.Retry"/>. The span of the previous run never ended (its process stopped first), so the
    /// build gets one now: from its stored start to <paramref name="finishedAt"/>, with the steps that recovery finished
    /// (<paramref name="recoveredSteps"/>) as children, all ended as Retry.
    /// </summary>
    public static void BuildRecovered(HostContext ctx, StoredBuild build, IReadOnlyList<StoredStep> recoveredSteps, DateTimeOffset finishedAt, string stateText)
    {
        ctx.Metrics.RecordRunFinished(build.BuilderName, BuildResult.Retry, finishedAt - build.StartedAt);
        if (!Source.HasListeners())
        {
            return;
        }

        var tags = BuildTags(build.BuilderName, build.Number, build.HostName, build.WorkerName, build.SourceStamps);
        tags.Add(new(Recovered, true));
        var span = StartDetached(build.BuilderName, ActivityKind.Server, default, tags, build.StartedAt);
        if (span is null)
        {
            return;
        }

        foreach (var step in recoveredSteps)
        {
            var stepSpan = StartDetached(step.Name, ActivityKind.Internal, span.Context, StepTags(step.Name, step.Key.StepNumber), step.StartedAt ?? finishedAt);
            if (stepSpan is not null)
            {
                End(stepSpan, CicdConventions.TaskRunResult, BuildResult.Retry, step.StateText, finishedAt);
            }
        }

        End(span, CicdConventions.PipelineResult, BuildResult.Retry, stateText, finishedAt);
    }

    private static List<KeyValuePair<string, object?>> BuildTags(string builder, int number, string hostName, string? workerName, IReadOnlyList<SourceStamp> stamps)
    {
        var tags = new List<KeyValuePair<string, object?>>(10)
        {
            new(CicdConventions.PipelineName, builder),
            new(CicdConventions.PipelineRunId, number.ToString(CultureInfo.InvariantCulture)),
            new(CicdConventions.HostName, hostName),
        };
        if (workerName is not null)
        {
            tags.Add(new(CicdConventions.WorkerName, workerName));
        }

        // Attributes hold one value each: the first source stamp is the build's (Buildbot's main codebase).
        if (stamps.Count > 0)
        {
            var stamp = stamps[0];
            tags.Add(new(CicdConventions.RepositoryUrl, stamp.Repository));
            if (stamp.Branch is not null)
            {
                tags.Add(new(CicdConventions.RefHeadName, stamp.Branch));
                tags.Add(new(CicdConventions.RefHeadType, CicdConventions.RefTypeBranch));
            }

            if (stamp.Revision is not null)
            {
                tags.Add(new(CicdConventions.RefHeadRevision, stamp.Revision));
            }
        }

        return tags;
    }

    private static KeyValuePair<string, object?>[] StepTags(string name, int number) =>
    [
        new(CicdConventions.TaskName, name),
        new(CicdConventions.TaskRunId, number.ToString(CultureInfo.InvariantCulture)),
    ];

    private static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent, IEnumerable<KeyValuePair<string, object?>> tags, DateTimeOffset startedAt)
    {
        // With no parent given, StartActivity would take Activity.Current: the ambient span of whatever the host runs
        // the call in. Clear it for the call, and give it back, since StartActivity makes the new span current.
        var current = Activity.Current;
        Activity.Current = null;
        try
        {
            return Source.StartActivity(name, kind, parent, tags, links: null, startTime: startedAt);
        }
        finally
        {
            Activity.Current = current;
        }
    }

    private static void End(Activity span, string resultAttribute, BuildResult result, string? stateText, DateTimeOffset finishedAt)
    {
        if (span.IsAllDataRequested)
        {
            span.SetTag(resultAttribute, CicdConventions.Result(result));
            span.SetTag(CicdConventions.BuildStatusResult, CicdConventions.Name(result));
            if (CicdConventions.ErrorTypeOf(result) is { } errorType)
            {
                span.SetTag(CicdConventions.ErrorType, errorType);
                span.SetStatus(ActivityStatusCode.Error, string.IsNullOrEmpty(stateText) ? null : stateText);
            }
        }

        // Stop() makes the span's predecessor current again; the caller's Activity.Current stays what it was.
        var current = Activity.Current;
        span.SetEndTime(finishedAt.UtcDateTime);
        span.Stop();
        Activity.Current = current;
    }
}
