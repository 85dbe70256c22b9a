namespace BuildStatus;

// The event types are small records grouped in one file: they form one closed family and are read together.
#pragma warning disable SA1402, MA0048

/// <summary>A builder was registered.</summary>
/// <param name="Builder">The builder.</param>
public sealed record BuilderAdded(IBuilderStatus Builder) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuilderAdded;

    /// <inheritdoc/>
    public override string? BuilderName => Builder.Name;
}

/// <summary>A builder's <see cref="BuilderState"/> changed.</summary>
/// <param name="Builder">The builder.</param>
/// <param name="State">The new state.</param>
public sealed record BuilderStateChanged(IBuilderStatus Builder, BuilderState State) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuilderStateChanged;

    /// <inheritdoc/>
    public override string? BuilderName => Builder.Name;
}

/// <summary>A build request was submitted.</summary>
/// <param name="Request">The request.</param>
public sealed record BuildRequested(IBuildRequestStatus Request) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuildRequested;

    /// <inheritdoc/>
    public override string? BuilderName => Request.Builder.Name;
}

/// <summary>A build started.</summary>
/// <param name="Build">The build.</param>
public sealed record BuildStarted(IBuildStatus Build) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuildStarted;

    /// <inheritdoc/>
    public override string? BuilderName => Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Build.Number;
}

/// <summary>A running build's state text or properties changed.</summary>
/// <param name="Build">The build.</param>
/// <param name="StateText">The state text at the time of the change.</param>
public sealed record BuildChanged(IBuildStatus Build, string StateText) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuildChanged;

    /// <inheritdoc/>
    public override string? BuilderName => Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Build.Number;
}

/// <summary>A build finished (in RAM; storage may still be catching up).</summary>
/// <param name="Build">The build.</param>
/// <param name="Result">Its result.</param>
public sealed record BuildFinished(IBuildStatus Build, BuildResult Result) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuildFinished;

    /// <inheritdoc/>
    public override string? BuilderName => Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Build.Number;
}

/// <summary>
/// A build was lost: this host's instance lost its lease (its process was paused, say), another instance finished the
/// build in storage as <see cref="BuildResult.Retry"/>, and nothing more of it is stored from here. A
/// <see cref="BuildFinished"/> with <see cref="BuildResult.Retry"/> follows.
/// </summary>
/// <param name="Build">The build.</param>
/// <param name="Reason">Why it was lost.</param>
public sealed record BuildLost(IBuildStatus Build, string Reason) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuildLost;

    /// <inheritdoc/>
    public override string? BuilderName => Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Build.Number;
}

/// <summary>A build request changed state (<see cref="BuildRequested"/> announces a new one).</summary>
/// <param name="Request">The request.</param>
/// <param name="State">Its new state.</param>
public sealed record BuildRequestChanged(IBuildRequestStatus Request, Storage.BuildRequestState State) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.BuildRequestChanged;

    /// <inheritdoc/>
    public override string? BuilderName => Request.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Request.BuildNumber;
}

/// <summary>A step started.</summary>
/// <param name="Step">The step.</param>
public sealed record StepStarted(IStepStatus Step) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.StepStarted;

    /// <inheritdoc/>
    public override string? BuilderName => Step.Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Step.Build.Number;
}

/// <summary>A step's state text, links, statistics or visibility changed.</summary>
/// <param name="Step">The step.</param>
/// <param name="StateText">The state text at the time of the change.</param>
public sealed record StepTextChanged(IStepStatus Step, string StateText) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.StepTextChanged;

    /// <inheritdoc/>
    public override string? BuilderName => Step.Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Step.Build.Number;
}

/// <summary>A step finished.</summary>
/// <param name="Step">The step.</param>
/// <param name="Result">Its result.</param>
public sealed record StepFinished(IStepStatus Step, BuildResult Result) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.StepFinished;

    /// <inheritdoc/>
    public override string? BuilderName => Step.Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Step.Build.Number;
}

/// <summary>A log was added to a step.</summary>
/// <param name="Log">The log.</param>
public sealed record LogStarted(ILogStatus Log) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.LogStarted;

    /// <inheritdoc/>
    public override string? BuilderName => Log.Step.Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Log.Step.Build.Number;
}

/// <summary>Whole lines were appended to a log.</summary>
/// <param name="Log">The log.</param>
/// <param name="Lines">The new lines, in order, with their line numbers.</param>
public sealed record LogChunk(ILogStatus Log, IReadOnlyList<LogLine> Lines) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.LogChunk;

    /// <inheritdoc/>
    public override string? BuilderName => Log.Step.Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Log.Step.Build.Number;
}

/// <summary>A log finished.</summary>
/// <param name="Log">The log.</param>
public sealed record LogFinished(ILogStatus Log) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.LogFinished;

    /// <inheritdoc/>
    public override string? BuilderName => Log.Step.Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Log.Step.Build.Number;
}

/// <summary>A worker connected.</summary>
/// <param name="Worker">The worker.</param>
public sealed record WorkerConnected(IWorkerStatus Worker) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.WorkerConnected;
}

/// <summary>A worker disconnected.</summary>
/// <param name="Worker">The worker.</param>
public sealed record WorkerDisconnected(IWorkerStatus Worker) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.WorkerDisconnected;
}

/// <summary>The expected finish time of a build (and its current step) changed.</summary>
/// <param name="Build">The build.</param>
/// <param name="BuildEta">When the build is expected to finish, or <see langword="null"/>.</param>
/// <param name="Step">The step whose ETA changed, or <see langword="null"/>.</param>
/// <param name="StepEta">When that step is expected to finish, or <see langword="null"/>.</param>
public sealed record EtaUpdated(IBuildStatus Build, DateTimeOffset? BuildEta, IStepStatus? Step, DateTimeOffset? StepEta) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.EtaUpdated;

    /// <inheritdoc/>
    public override string? BuilderName => Build.Builder.Name;

    /// <inheritdoc/>
    public override int? BuildNumber => Build.Number;
}

/// <summary>
/// Delivered to one subscriber, in place of events its full buffer could not hold: it tells how many
/// events that subscriber missed. Always delivered, whatever the filter.
/// </summary>
/// <remarks>
/// Other hosts' events can be missed too: when this host could not read the storage's event outbox before its
/// retention removed them (a long outage, say). That notice goes only to subscribers that asked for other hosts' events
/// (<see cref="StatusEventFilter.IncludeOtherHosts"/>); its <see cref="StatusEvent.HostName"/> is empty (not
/// <see langword="null"/>) and <see cref="Count"/> is at most how many were missed.
/// </remarks>
/// <param name="Count">How many events were dropped since the previous notice.</param>
public sealed record EventsMissed(long Count) : StatusEvent
{
    /// <inheritdoc/>
    public override StatusEventKinds Kind => StatusEventKinds.None;
}
#pragma warning restore SA1402, MA0048
