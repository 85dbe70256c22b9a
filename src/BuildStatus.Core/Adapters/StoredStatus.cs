using BuildStatus.Persistence;
using BuildStatus.Process;
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

/// <summary>
/// A read-only build loaded from storage: the stored build (<see cref="PersistentBuild"/>) seen as an
/// <see cref="IBuildStatus"/>, with its steps loaded.
/// </summary>
internal sealed class StoredBuildStatus : PersistentBuild, IBuildStatus
{
    public StoredBuildStatus(StoredBuild record, IBuilderStatus builder, HostContext ctx)
        : base(record, ctx)
    {
        Builder = builder;
    }

    public IBuilderStatus Builder { get; }

    public IReadOnlyList<IStepStatus> Steps { get; set; } = [];

    // As stored: the last started step that is not finished (another host's running build, read from storage).
    public IStepStatus? CurrentStep
    {
        get
        {
            if (IsFinished)
            {
                return null;
            }

            IStepStatus? current = null;
            foreach (var step in Steps)
            {
                if (step.IsStarted && !step.IsFinished)
                {
                    current = step;
                }
            }

            return current;
        }
    }

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
}

/// <summary>A read-only step loaded from storage: the stored step seen as an <see cref="IStepStatus"/>.</summary>
internal sealed class StoredStepStatus : PersistentStep, IStepStatus
{
    public StoredStepStatus(StoredStep record, IBuildStatus build, HostContext ctx)
        : base(record, ctx)
    {
        Build = build;
    }

    public IBuildStatus Build { get; }

    public bool IsStarted => Record.StartedAt is not null;

    public IReadOnlyList<ILogStatus> Logs { get; set; } = [];

    public DateTimeOffset? Eta => null;
}

/// <summary>A read-only log loaded from storage, with its last lines: the stored log seen as an <see cref="ILogStatus"/>.</summary>
internal sealed class StoredLogStatus : PersistentLog, ILogStatus
{
    public StoredLogStatus(StoredLog record, IStepStatus step, IReadOnlyList<LogLine> tail, HostContext ctx)
        : base(record, ctx)
    {
        Step = step;
        Tail = tail;
    }

    public IStepStatus Step { get; }

    public IReadOnlyList<LogLine> Tail { get; }
}
#pragma warning restore SA1402, MA0048
