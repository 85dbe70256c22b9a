namespace BuildStatus.AspNetCore.Internal;

/// <summary>Converts a status event into its wire shape (read from the live objects when the event is serialized).</summary>
internal static class StreamEvents
{
    public static string LogKey(ILogStatus log)
        => string.Concat(log.Step.Build.Builder.Name, "\n", Number(log.Step.Build.Number), "\n", Number(log.Step.Number), "\n", Number(log.Number));

    public static StreamEventDto From(StatusEvent statusEvent, bool withLines = true)
    {
        var dto = new StreamEventDto(Names.EventKind(statusEvent.Kind), statusEvent.Timestamp)
        {
            Builder = statusEvent.BuilderName,
            Number = statusEvent.BuildNumber,
        };
        return statusEvent switch
        {
            BuilderAdded e => dto with { BuilderInfo = Dto.Builder(e.Builder) },
            BuilderStateChanged e => dto with { State = Names.State(e.State) },
            BuildRequested e => dto with { Request = Dto.Request(e.Request) },
            BuildStarted e => dto with { Build = Dto.Summary(e.Build) },
            BuildChanged e => dto with { Build = Dto.Summary(e.Build), State = e.StateText },
            BuildFinished e => dto with { Build = Dto.Summary(e.Build) },
            BuildLost e => dto with { Build = Dto.Summary(e.Build), State = e.Reason },
            BuildRequestChanged e => dto with { Request = Dto.Request(e.Request), State = e.State.ToString().ToLowerInvariant() },
            StepStarted e => dto with { Build = Dto.Summary(e.Step.Build), Step = Dto.Step(e.Step) },
            StepTextChanged e => dto with { Build = Dto.Summary(e.Step.Build), Step = Dto.Step(e.Step), State = e.StateText },
            StepFinished e => dto with { Build = Dto.Summary(e.Step.Build), Step = Dto.Step(e.Step) },
            LogStarted e => dto with { Log = Dto.Log(e.Log) },
            LogChunk e => dto with { Log = Dto.Log(e.Log), Lines = withLines ? e.Lines.Select(Dto.Line).ToArray() : null },
            LogFinished e => dto with { Log = Dto.Log(e.Log) },
            WorkerConnected e => dto with { Worker = Dto.Worker(e.Worker) },
            WorkerDisconnected e => dto with { Worker = Dto.Worker(e.Worker) },
            EtaUpdated e => dto with { Build = Dto.Summary(e.Build), Step = e.Step is null ? null : Dto.Step(e.Step) },
            _ => dto,
        };
    }

    /// <summary>The build an event's <c>build</c> summary is made from, if it has one.</summary>
    public static IBuildStatus? BuildOf(StatusEvent statusEvent) => statusEvent switch
    {
        BuildStarted e => e.Build,
        BuildChanged e => e.Build,
        BuildFinished e => e.Build,
        BuildLost e => e.Build,
        StepStarted e => e.Step.Build,
        StepTextChanged e => e.Step.Build,
        StepFinished e => e.Step.Build,
        EtaUpdated e => e.Build,
        _ => null,
    };

    private static string Number(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
