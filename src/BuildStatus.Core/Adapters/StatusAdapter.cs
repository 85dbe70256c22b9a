using BuildStatus.Persistence;
using BuildStatus.Process;
using BuildStatus.Storage;

namespace BuildStatus.Adapters;

/// <summary>Maps live status objects to persistent ones and back; loads read-only status for stored builds.</summary>
internal sealed class StatusAdapter : IStatusAdapter
{
    private readonly HostContext _ctx;

    public StatusAdapter(HostContext ctx)
    {
        _ctx = ctx;
    }

    public IPersistentBuilder ToPersistent(IBuilderStatus builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder switch
        {
            Builder live when live.IsOwnedBy(_ctx) => live.Persistent,
            StoredBuilderStatus stored => new PersistentBuilder(stored.Record, _ctx),
            _ => throw Foreign(nameof(builder), builder),
        };
    }

    public IPersistentBuild ToPersistent(IBuildStatus build)
    {
        ArgumentNullException.ThrowIfNull(build);
        return build switch
        {
            Build live when ReferenceEquals(live.Context, _ctx) => live.Persistent,
            StoredBuildStatus stored => stored,
            _ => throw Foreign(nameof(build), build),
        };
    }

    public IPersistentStep ToPersistent(IStepStatus step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return step switch
        {
            Step live when ReferenceEquals(live.Owner.Context, _ctx) => live.Persistent,
            StoredStepStatus stored => stored,
            _ => throw Foreign(nameof(step), step),
        };
    }

    public IPersistentLog ToPersistent(ILogStatus log)
    {
        ArgumentNullException.ThrowIfNull(log);
        return log switch
        {
            Log live when ReferenceEquals(((Step)live.Step).Owner.Context, _ctx) => live.Persistent,
            StoredLogStatus stored => stored,
            _ => throw Foreign(nameof(log), log),
        };
    }

    public IPersistentWorker ToPersistent(IWorkerStatus worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        return worker is Worker live && ReferenceEquals(_ctx.Host.FindWorkerInternal(live.Name), live)
            ? live.Persistent
            : throw Foreign(nameof(worker), worker);
    }

    public IBuilderStatus? ToStatus(IPersistentBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return _ctx.Host.FindBuilderInternal(builder.Name);
    }

    public IBuildStatus? ToStatus(IPersistentBuild build)
    {
        ArgumentNullException.ThrowIfNull(build);
        return FindLiveBuild(new BuildKey(build.BuilderName, build.Number));
    }

    public IStepStatus? ToStatus(IPersistentStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var build = FindLiveBuild(new BuildKey(step.BuilderName, step.BuildNumber));
        var steps = build?.Steps;
        return steps is not null && step.Number >= 0 && step.Number < steps.Count ? steps[step.Number] : null;
    }

    public ILogStatus? ToStatus(IPersistentLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        return FindLiveLog(new LogKey(log.BuilderName, log.BuildNumber, log.StepNumber, log.Number));
    }

    public IWorkerStatus? ToStatus(IPersistentWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        return _ctx.Host.FindWorkerInternal(worker.Name);
    }

    public T? Adapt<T>(object source)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source is T same)
        {
            return same;
        }

        object? result = source switch
        {
            IBuilderStatus b when typeof(T) == typeof(IPersistentBuilder) => ToPersistent(b),
            IBuildStatus b when typeof(T) == typeof(IPersistentBuild) => ToPersistent(b),
            IStepStatus s when typeof(T) == typeof(IPersistentStep) => ToPersistent(s),
            ILogStatus l when typeof(T) == typeof(IPersistentLog) => ToPersistent(l),
            IWorkerStatus w when typeof(T) == typeof(IPersistentWorker) => ToPersistent(w),
            IPersistentBuilder b when typeof(T).IsAssignableFrom(typeof(Builder)) => ToStatus(b),
            IPersistentBuild b when typeof(T).IsAssignableFrom(typeof(Build)) => ToStatus(b),
            IPersistentStep s when typeof(T).IsAssignableFrom(typeof(Step)) => ToStatus(s),
            IPersistentLog l when typeof(T).IsAssignableFrom(typeof(Log)) => ToStatus(l),
            IPersistentWorker w when typeof(T).IsAssignableFrom(typeof(Worker)) => ToStatus(w),
            _ => null,
        };
        return result as T;
    }

    public async Task<IBuildStatus?> LoadBuildStatusAsync(string builderName, int number, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builderName);
        var live = FindLiveBuild(new BuildKey(builderName, number));
        if (live is not null)
        {
            return live;
        }

        return await LoadStoredBuildStatusAsync(builderName, number, _ctx.Options.LogTailLines, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads a read-only view of a stored build, its steps and logs, each log with up to <paramref name="tailLines"/> lines of tail.</summary>
    internal async Task<StoredBuildStatus?> LoadStoredBuildStatusAsync(string builderName, int number, int tailLines, CancellationToken cancellationToken)
    {

        var store = _ctx.Store;
        var record = await store.GetBuildAsync(new BuildKey(builderName, number), cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        IBuilderStatus builder = _ctx.Host.FindBuilderInternal(builderName) as IBuilderStatus
            ?? new StoredBuilderStatus(await store.GetBuilderAsync(builderName, cancellationToken).ConfigureAwait(false) ?? new StoredBuilder(builderName, null, []));
        var build = new StoredBuildStatus(record, builder, _ctx);
        var steps = await store.GetStepsAsync(record.Key, cancellationToken).ConfigureAwait(false);
        var stepStatuses = new List<IStepStatus>(steps.Count);
        foreach (var stepRecord in steps)
        {
            var step = new StoredStepStatus(stepRecord, build, _ctx);
            var logs = await store.GetLogsAsync(stepRecord.Key, cancellationToken).ConfigureAwait(false);
            var logStatuses = new List<ILogStatus>(logs.Count);
            foreach (var logRecord in logs)
            {
                var first = Math.Max(0, logRecord.LineCount - tailLines);
                var tail = tailLines == 0 ? [] : await store.ReadLogLinesAsync(logRecord.Key, first, tailLines, cancellationToken).ConfigureAwait(false);
                logStatuses.Add(new StoredLogStatus(logRecord, step, tail, _ctx));
            }

            step.Logs = logStatuses;
            stepStatuses.Add(step);
        }

        build.Steps = stepStatuses;
        return build;
    }

    internal Build? FindLiveBuild(BuildKey key)
        => _ctx.Host.FindBuilderInternal(key.BuilderName)?.GetLiveBuild(key.Number);

    internal Log? FindLiveLog(LogKey key)
    {
        var build = FindLiveBuild(key.Step.Build);
        if (build is null)
        {
            return null;
        }

        var steps = build.Steps;
        if (key.StepNumber < 0 || key.StepNumber >= steps.Count)
        {
            return null;
        }

        var logs = steps[key.StepNumber].Logs;
        return key.LogNumber >= 0 && key.LogNumber < logs.Count ? logs[key.LogNumber] as Log : null;
    }

    private static ArgumentException Foreign(string param, object value)
        => new($"{value} does not belong to this BuildStatus host.", param);
}
