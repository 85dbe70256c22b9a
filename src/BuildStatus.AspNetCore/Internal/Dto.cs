namespace BuildStatus.AspNetCore.Internal;

/// <summary>Builds the wire shapes from status (RAM) and persistent (storage) objects.</summary>
internal static class Dto
{
    /// <summary>How many recent results a builder shows in its strip.</summary>
    public const int RecentStrip = 10;

    public static BuilderDto Builder(IBuilderStatus builder)
    {
        // RecentBuilds is newest first, as the strip is.
        var recent = builder.RecentBuilds;
        var strip = new List<BuildSummaryDto>(Math.Min(RecentStrip, recent.Count));
        for (var i = 0; i < recent.Count && strip.Count < RecentStrip; i++)
        {
            strip.Add(Summary(recent[i]));
        }

        return new BuilderDto(
            builder.Name,
            builder.Description,
            builder.Tags,
            Names.State(builder.State),
            builder.CurrentBuilds.Select(Summary).ToArray(),
            strip,
            builder.PendingRequests.Count,
            builder.Workers.Select(w => w.Name).ToArray(),
            builder.ExpectedDuration?.TotalSeconds);
    }

    public static BuilderDto StoredBuilder(IPersistentBuilder builder, IReadOnlyList<IPersistentBuild> recent)
        => new(builder.Name, builder.Description, builder.Tags, Names.State(BuilderState.Offline), [], recent.Select(Summary).ToArray(), 0, [], null);

    public static BuildSummaryDto Summary(IBuildStatus build)
    {
        var steps = build.Steps;
        var done = 0;
        foreach (var step in steps)
        {
            if (step.IsFinished)
            {
                done++;
            }
        }

        var stamp = build.SourceStamps.Count > 0 ? build.SourceStamps[0] : null;

        // FinishedAt, not IsFinished: a live build publishes BuildFinished (with FinishedAt set) a moment before
        // IsFinished turns true, and this may run on the event's delivery thread in between.
        var finished = build.FinishedAt is not null || build.IsFinished;
        return new BuildSummaryDto(
            build.Builder.Name,
            build.Number,
            finished,
            build.StateText,
            Names.Result(build.Result),
            build.Reason,
            build.StartedAt,
            build.FinishedAt,
            finished ? null : build.Eta,
            finished ? null : build.CurrentStep?.Name,
            done,
            steps.Count,
            build.WorkerName,
            stamp?.Branch,
            stamp?.Revision);
    }

    public static BuildSummaryDto Summary(IPersistentBuild build)
    {
        var stamp = build.SourceStamps.Count > 0 ? build.SourceStamps[0] : null;
        return new BuildSummaryDto(
            build.BuilderName,
            build.Number,
            build.IsFinished,
            build.StateText,
            Names.Result(build.Result),
            build.Reason,
            build.StartedAt,
            build.FinishedAt,
            null,
            null,
            null,
            null,
            build.WorkerName,
            stamp?.Branch,
            stamp?.Revision);
    }

    /// <summary>
    /// The summary of a build that may be another host's (a read-only view loaded from storage, whose current step
    /// Core derives from its stored steps and which has no ETA of its own): its ETA is its start plus this host's
    /// expected duration of its builder, when this host has one (what Core gives a build when it starts).
    /// </summary>
    public static BuildSummaryDto ClusterSummary(IBuildStatus build, IStatus? local)
    {
        var summary = Summary(build);
        return summary.Finished ? summary : summary with { Eta = summary.Eta ?? EstimatedEta(build.Builder.Name, build.StartedAt, local) };
    }

    /// <summary>The summary of another host's running build as stored, with its steps: as <see cref="ClusterSummary(IBuildStatus, IStatus?)"/>.</summary>
    public static BuildSummaryDto ClusterSummary(IPersistentBuild build, IReadOnlyList<IPersistentStep> steps, IStatus local)
    {
        var summary = Summary(build);
        if (summary.Finished)
        {
            return summary;
        }

        string? current = null;
        var done = 0;
        foreach (var step in steps)
        {
            if (step.IsFinished)
            {
                done++;
            }
            else if (step.StartedAt is not null)
            {
                current = step.Name;
            }
        }

        return summary with
        {
            CurrentStep = current,
            StepsDone = done,
            StepsTotal = steps.Count,
            Eta = EstimatedEta(build.BuilderName, build.StartedAt, local),
        };
    }

    public static BuildDetailDto Detail(IBuildStatus build, string lastEventId) => new(
        Summary(build),
        build.HostName,
        build.SourceStamps,
        build.Changes,
        build.ResponsibleUsers,
        Properties(build.Properties),
        build.Steps.Select(Step).ToArray(),
        lastEventId);

    public static IReadOnlyList<PropertyDto> Properties(IReadOnlyDictionary<string, PropertyValue> properties)
        => properties.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new PropertyDto(p.Key, p.Value.Value, p.Value.Source)).ToArray();

    public static StepDto Step(IStepStatus step) => new(
        step.Number,
        step.Name,
        step.StateText,
        step.IsStarted,
        step.IsFinished,
        Names.Result(step.Result),
        step.StartedAt,
        step.FinishedAt,
        step.IsFinished ? null : step.Eta,
        step.IsHidden,
        step.Urls,
        step.Statistics,
        step.Logs.Select(Log).ToArray());

    public static LogDto Log(ILogStatus log)
        => new(log.Step.Build.Builder.Name, log.Step.Build.Number, log.Step.Number, log.Number, log.Name, Names.Kind(log.Kind), log.IsFinished, log.LineCount, log.ByteCount);

    public static LogDto Log(IPersistentLog log)
        => new(log.BuilderName, log.BuildNumber, log.StepNumber, log.Number, log.Name, Names.Kind(log.Kind), log.IsFinished, log.LineCount, log.ByteCount);

    public static LogLineDto Line(LogLine line) => new(line.Number, Names.Channel(line.Channel), line.Text);

    public static WorkerDto Worker(IWorkerStatus worker) => new(
        worker.Name,
        worker.Host,
        worker.Info,
        worker.IsConnected,
        worker.LastSeen,
        worker.RunningBuilds.Select(b => new BuildRefDto(b.Builder.Name, b.Number)).ToArray());

    public static WorkerDto Worker(IPersistentWorker worker)
        => new(worker.Name, worker.Host, worker.Info, worker.IsConnected, worker.LastSeen, []);

    public static RequestDto Request(IBuildRequestStatus request)
        => new(request.Id, request.Builder.Name, request.Reason, request.SubmittedAt, request.SourceStamps, Properties(request.Properties));

    private static DateTimeOffset? EstimatedEta(string builderName, DateTimeOffset startedAt, IStatus? local)
        => local?.GetBuilder(builderName)?.ExpectedDuration is { } expected ? startedAt + expected : null;
}
