using BuildStatus.Process;
using BuildStatus.Storage;

namespace BuildStatus.Adapters;

/// <summary>
/// Keeps events that wait in subscriber buffers from holding a build that has left RAM. When a builder drops a
/// finished build from its recent builds, every buffered event that points at the build, one of its steps or one
/// of its logs is replaced by a copy that points at a read-only snapshot of them (the same views
/// <see cref="IStatusAdapter.LoadBuildStatusAsync"/> returns for stored builds, with empty log tails), so the live
/// objects can be collected while a slow subscriber catches up.
/// </summary>
/// <remarks>
/// Threading: called by the builder with no lock held. The snapshot is made first, taking the build's lock as its
/// properties are read; the buffers are then rewritten under each subscriber's lock with reference lookups only,
/// since a publisher takes a subscriber's lock while holding a build's (build before subscriber, never the reverse).
/// </remarks>
internal static class DetachedStatus
{
    /// <summary>Rewrites the buffered events of <paramref name="build"/>, which just left RAM, to point at a snapshot.</summary>
    /// <param name="ctx">The host.</param>
    /// <param name="build">The finished build.</param>
    public static void Detach(HostContext ctx, Build build)
    {
        var hub = ctx.Hub;
        if (!hub.HasSubscribers || !hub.AnyBuffered(build, static (b, e) => ReferenceEquals(BuildOf(e), b)))
        {
            return;
        }

        var snapshot = new Snapshot(ctx, build);
        hub.RewriteBuffered(snapshot, static (s, e) => s.Map(e));
    }

    /// <summary>Returns the live build an event concerns, or <see langword="null"/>.</summary>
    private static IBuildStatus? BuildOf(StatusEvent statusEvent) => statusEvent switch
    {
        BuildStarted e => e.Build,
        BuildChanged e => e.Build,
        BuildFinished e => e.Build,
        BuildLost e => e.Build,
        EtaUpdated e => e.Build,
        StepStarted e => e.Step.Build,
        StepTextChanged e => e.Step.Build,
        StepFinished e => e.Step.Build,
        LogStarted e => e.Log.Step.Build,
        LogChunk e => e.Log.Step.Build,
        LogFinished e => e.Log.Step.Build,
        _ => null,
    };

    /// <summary>A read-only copy of a finished build with its steps and logs, and the map from live objects to it. Immutable once built.</summary>
    private sealed class Snapshot
    {
        private readonly Build _live;
        private readonly StoredBuildStatus _build;
        private readonly Dictionary<IStepStatus, IStepStatus> _steps = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<ILogStatus, ILogStatus> _logs = new(ReferenceEqualityComparer.Instance);

        public Snapshot(HostContext ctx, Build live)
        {
            _live = live;
            var record = new StoredBuild(
                live.Owner.Name,
                live.Number,
                live.HostName,
                live.Reason,
                live.SourceStamps,
                live.Changes,
                live.ResponsibleUsers,
                live.WorkerName,
                live.Properties,
                live.StartedAt,
                live.FinishedAt,
                live.StateText,
                live.Result);
            _build = new StoredBuildStatus(record, live.Builder, ctx);
            var steps = new List<IStepStatus>();
            foreach (var stepStatus in live.Steps)
            {
                var step = (Step)stepStatus;
                var stepRecord = new StoredStep(step.Key, step.Name, step.StateText, step.StartedAt, step.FinishedAt, step.Result, step.Urls, step.Statistics, step.IsHidden);
                var stepView = new StoredStepStatus(stepRecord, _build, ctx);
                var logs = new List<ILogStatus>();
                foreach (var logStatus in step.Logs)
                {
                    var log = (Log)logStatus;
                    var logView = new StoredLogStatus(new StoredLog(log.Key, log.Name, log.Kind, log.IsFinished, log.LineCount, log.ByteCount), stepView, [], ctx);
                    logs.Add(logView);
                    _logs[log] = logView;
                }

                stepView.Logs = logs;
                steps.Add(stepView);
                _steps[step] = stepView;
            }

            _build.Steps = steps;
        }

        /// <summary>Returns the event pointed at the snapshot, or <see langword="null"/> when it does not concern the build.</summary>
        public StatusEvent? Map(StatusEvent statusEvent)
        {
            if (!ReferenceEquals(BuildOf(statusEvent), _live))
            {
                return null;
            }

            return statusEvent switch
            {
                BuildStarted e => e with { Build = _build },
                BuildChanged e => e with { Build = _build },
                BuildFinished e => e with { Build = _build },
                BuildLost e => e with { Build = _build },
                EtaUpdated e => e with { Build = _build, Step = e.Step is null ? null : Step(e.Step) },
                StepStarted e => e with { Step = Step(e.Step) },
                StepTextChanged e => e with { Step = Step(e.Step) },
                StepFinished e => e with { Step = Step(e.Step) },
                LogStarted e => e with { Log = Log(e.Log) },
                LogChunk e => e with { Log = Log(e.Log) },
                LogFinished e => e with { Log = Log(e.Log) },
                _ => null,
            };
        }

        private IStepStatus Step(IStepStatus live) => _steps.GetValueOrDefault(live, live);

        private ILogStatus Log(ILogStatus live) => _logs.GetValueOrDefault(live, live);
    }
}
