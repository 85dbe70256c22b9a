using BuildStatus.Storage;

namespace BuildStatus.Pipeline;

/// <summary>
/// Derives the outbox rows (<see cref="WriteBatch.Events"/>) of a batch from its rows: each entity's row is compared with
/// the row of its previous snapshot, so the events say exactly what the batch commits. Used only with a store that has
/// an event feed. Runs on the writer task alone, which owns <see cref="PersistedEntity.LastEventRow"/>.
/// </summary>
internal static class OutboxEvents
{
    // Order within one build's events of one batch: the build's start, then its steps in number order (each: start,
    // text, its logs in number order (start, lines, finish), finish), then the build's change and finish. Queue order
    // alone could put a build's finish before the last step's start; this order is always a possible real one.
    private const int PhaseBuildStarted = 0;
    private const int PhaseSteps = 1;
    private const int PhaseBuildChanged = 2;
    private const int PhaseBuildFinished = 3;

    /// <summary>Adds to <paramref name="snapshot"/> the events its row and chunks make, and remembers the row.</summary>
    public static void Derive(EntitySnapshot snapshot, DateTimeOffset now, string hostName, long instanceId)
    {
        var entity = snapshot.Entity;
        var previous = entity.LastEventRow;
        if (entity.OutboxBuild is { StartEventWritten: false } owner && (snapshot.Row is not null || snapshot.Chunks is { Count: > 0 }))
        {
            // The build's start first, whichever of its entities reaches a batch first. Number and start time never change.
            owner.StartEventWritten = true;
            var started = new StoredEvent(StatusEventKinds.BuildStarted, owner.StartedAt, owner.Owner.Name, owner.Number) { HostName = hostName, InstanceId = instanceId };
            Add(snapshot, started, PhaseBuildStarted, 0);
        }
        switch (snapshot.Row)
        {
            case StoredBuild build:
                DeriveBuild(snapshot, previous as StoredBuild, build, now, hostName, instanceId);
                break;
            case StoredStep step:
                DeriveStep(snapshot, previous as StoredStep, step, now, hostName, instanceId);
                break;
        }

        if (snapshot.Row is StoredLog || snapshot.Chunks is { Count: > 0 })
        {
            DeriveLog(snapshot, previous as StoredLog, snapshot.Row as StoredLog, now, hostName, instanceId);
        }

        if (snapshot.Row is not null)
        {
            entity.LastEventRow = snapshot.Row;
        }
    }

    /// <summary>Returns the events of the snapshots, in the order described above, grouped by build in first-appearance order.</summary>
    public static StoredEvent[] Collect(IReadOnlyList<EntitySnapshot> snapshots)
    {
        List<OutboxEvent>? all = null;
        Dictionary<BuildKey, int>? groups = null;
        foreach (var snapshot in snapshots)
        {
            if (snapshot.Events is not { Count: > 0 } events)
            {
                continue;
            }

            all ??= [];
            groups ??= [];
            foreach (var e in events)
            {
                var key = new BuildKey(e.Event.BuilderName, e.Event.BuildNumber);
                if (!groups.TryGetValue(key, out var group))
                {
                    group = groups.Count;
                    groups.Add(key, group);
                }

                all.Add(e with { Group = group, Order = all.Count });
            }
        }

        if (all is null)
        {
            return [];
        }

        all.Sort(static (a, b) =>
        {
            var c = a.Group.CompareTo(b.Group);
            if (c == 0)
            {
                c = a.Phase.CompareTo(b.Phase);
            }

            if (c == 0)
            {
                c = a.Within.CompareTo(b.Within);
            }

            return c != 0 ? c : a.Order.CompareTo(b.Order);
        });
        var result = new StoredEvent[all.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = all[i].Event;
        }

        return result;
    }

    private static void DeriveBuild(EntitySnapshot snapshot, StoredBuild? previous, StoredBuild build, DateTimeOffset now, string hostName, long instanceId)
    {
        StoredEvent Make(StatusEventKinds kind, DateTimeOffset at) => new(kind, at, build.BuilderName, build.Number) { HostName = hostName, InstanceId = instanceId };
        if (build.IsFinished)
        {
            if (previous is not { IsFinished: true })
            {
                Add(snapshot, Make(StatusEventKinds.BuildFinished, build.FinishedAt!.Value) with { Result = build.Result, Text = build.StateText }, PhaseBuildFinished, 0);
            }

            return;
        }

        if (previous is not null && (!string.Equals(previous.StateText, build.StateText, StringComparison.Ordinal) || !ReferenceEquals(previous.Properties, build.Properties)))
        {
            Add(snapshot, Make(StatusEventKinds.BuildChanged, now) with { Text = build.StateText }, PhaseBuildChanged, 0);
        }
    }

    private static void DeriveStep(EntitySnapshot snapshot, StoredStep? previous, StoredStep step, DateTimeOffset now, string hostName, long instanceId)
    {
        StoredEvent Make(StatusEventKinds kind, DateTimeOffset at)
            => new(kind, at, step.Key.BuilderName, step.Key.BuildNumber) { HostName = hostName, InstanceId = instanceId, StepNumber = step.Key.StepNumber };
        var within = (long)step.Key.StepNumber << 40;
        if (step.StartedAt is { } started && previous?.StartedAt is null)
        {
            Add(snapshot, Make(StatusEventKinds.StepStarted, started), PhaseSteps, within);
        }

        if (step.IsFinished)
        {
            if (previous is not { IsFinished: true })
            {
                Add(snapshot, Make(StatusEventKinds.StepFinished, step.FinishedAt!.Value) with { Result = step.Result, Text = step.StateText }, PhaseSteps, within | (3L << 36));
            }

            return;
        }

        if (previous is not null && previous.StartedAt is not null && !string.Equals(previous.StateText, step.StateText, StringComparison.Ordinal))
        {
            Add(snapshot, Make(StatusEventKinds.StepTextChanged, now) with { Text = step.StateText }, PhaseSteps, within | (1L << 36));
        }
    }

    private static void DeriveLog(EntitySnapshot snapshot, StoredLog? previous, StoredLog? log, DateTimeOffset now, string hostName, long instanceId)
    {
        var key = log?.Key ?? snapshot.Chunks![0].Log;
        StoredEvent Make(StatusEventKinds kind)
            => new(kind, now, key.BuilderName, key.BuildNumber) { HostName = hostName, InstanceId = instanceId, StepNumber = key.StepNumber, LogNumber = key.LogNumber };
        var within = ((long)key.StepNumber << 40) | (2L << 36) | ((long)key.LogNumber << 4);
        if (log is not null && previous is null)
        {
            Add(snapshot, Make(StatusEventKinds.LogStarted), PhaseSteps, within);
        }

        if (snapshot.Chunks is { Count: > 0 } chunks)
        {
            var lines = 0;
            foreach (var chunk in chunks)
            {
                lines += chunk.LineCount;
            }

            Add(snapshot, Make(StatusEventKinds.LogChunk) with { FirstLine = chunks[0].FirstLine, LineCount = lines }, PhaseSteps, within | 1);
        }

        if (log is { IsFinished: true } && previous is not { IsFinished: true })
        {
            Add(snapshot, Make(StatusEventKinds.LogFinished), PhaseSteps, within | 2);
        }
    }

    private static void Add(EntitySnapshot snapshot, StoredEvent e, int phase, long within)
        => (snapshot.Events ??= []).Add(new OutboxEvent(e, phase, within));
}

/// <summary>An outbox row with its place in the batch's order.</summary>
internal readonly record struct OutboxEvent(StoredEvent Event, int Phase, long Within)
{
    public int Group { get; init; }

    public int Order { get; init; }
}
