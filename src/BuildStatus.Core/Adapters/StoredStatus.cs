using BuildStatus.Storage;

namespace BuildStatus.Adapters;

#pragma warning disable SA1402, MA0048 // Read-only status views of stored records, read together.

/// <summary>A builder known only from storage (not registered in this host).</summary>
internal sealed class StoredBuilderStatus : IBuilderStatus
{
    public StoredBuilderStatus(StoredBuilder record)
    {
        Record = record;
    }

    public StoredBuilder Record { get; }

    public string Name => Record.Name;

    public string? Description => Record.Description;

    public IReadOnlyList<string> Tags => Record.Tags;

    public BuilderState State => BuilderState.Offline;

    public IReadOnlyList<IBuildStatus> CurrentBuilds => [];

    public IReadOnlyList<IBuildRequestStatus> PendingRequests => [];

    public IBuildStatus? LastFinishedBuild => null;

    public IReadOnlyList<IBuildStatus> RecentBuilds => [];

    public IReadOnlyList<IWorkerStatus> Workers => [];

    public TimeSpan? ExpectedDuration => null;

    public IBuildStatus? GetBuild(int number) => null;
}

/// <summary>A read-only build loaded from storage.</summary>
internal sealed class StoredBuildStatus : IBuildStatus
{
    public StoredBuildStatus(StoredBuild record, IBuilderStatus builder)
    {
        Record = record;
        Builder = builder;
    }

    public StoredBuild Record { get; }

    public IBuilderStatus Builder { get; }

    public int Number => Record.Number;

    public string HostName => Record.HostName;

    public string? Reason => Record.Reason;

    public IReadOnlyList<SourceStamp> SourceStamps => Record.SourceStamps;

    public IReadOnlyList<BuildChange> Changes => Record.Changes;

    public IReadOnlyList<string> ResponsibleUsers => Record.ResponsibleUsers;

    public string? WorkerName => Record.WorkerName;

    public IReadOnlyDictionary<string, PropertyValue> Properties => Record.Properties;

    public DateTimeOffset StartedAt => Record.StartedAt;

    public DateTimeOffset? FinishedAt => Record.FinishedAt;

    public bool IsFinished => Record.IsFinished;

    public string StateText => Record.StateText;

    public BuildResult? Result => Record.Result;

    public IReadOnlyList<IStepStatus> Steps { get; set; } = [];

    public IStepStatus? CurrentStep => null;

    public DateTimeOffset? Eta => null;

    public PropertyValue? GetProperty(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Record.Properties.TryGetValue(name, out var value) ? value : null;
    }

    // A stored build is not live: if it is finished this completes; an unfinished one (another host's, or
    // interrupted) cannot be watched from a snapshot, so the wait is for cancellation only.
    public Task WaitUntilFinishedAsync(CancellationToken cancellationToken = default)
        => IsFinished ? Task.CompletedTask : Task.Delay(Timeout.Infinite, cancellationToken);

    public override string ToString() => $"stored build {Number} of builder '{Record.BuilderName}'";
}

/// <summary>A read-only step loaded from storage.</summary>
internal sealed class StoredStepStatus : IStepStatus
{
    public StoredStepStatus(StoredStep record, IBuildStatus build)
    {
        Record = record;
        Build = build;
    }

    public StoredStep Record { get; }

    public IBuildStatus Build { get; }

    public int Number => Record.Key.StepNumber;

    public string Name => Record.Name;

    public string StateText => Record.StateText;

    public DateTimeOffset? StartedAt => Record.StartedAt;

    public DateTimeOffset? FinishedAt => Record.FinishedAt;

    public bool IsStarted => Record.StartedAt is not null;

    public bool IsFinished => Record.IsFinished;

    public BuildResult? Result => Record.Result;

    public IReadOnlyList<ILogStatus> Logs { get; set; } = [];

    public IReadOnlyList<StepUrl> Urls => Record.Urls;

    public IReadOnlyDictionary<string, double> Statistics => Record.Statistics;

    public bool IsHidden => Record.IsHidden;

    public DateTimeOffset? Eta => null;
}

/// <summary>A read-only log loaded from storage, with its last lines.</summary>
internal sealed class StoredLogStatus : ILogStatus
{
    public StoredLogStatus(StoredLog record, IStepStatus step, IReadOnlyList<LogLine> tail)
    {
        Record = record;
        Step = step;
        Tail = tail;
    }

    public StoredLog Record { get; }

    public IStepStatus Step { get; }

    public int Number => Record.Key.LogNumber;

    public string Name => Record.Name;

    public LogKind Kind => Record.Kind;

    public bool IsFinished => Record.IsFinished;

    public long LineCount => Record.LineCount;

    public long ByteCount => Record.ByteCount;

    public IReadOnlyList<LogLine> Tail { get; }
}
#pragma warning restore SA1402, MA0048
