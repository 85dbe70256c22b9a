namespace BuildStatus.Core.Tests.Fakes;

/// <summary>A running build status with a builder and a number and nothing else.</summary>
internal sealed class FakeBuildStatus(IBuilderStatus builder, int number) : IBuildStatus
{
    public IBuilderStatus Builder { get; } = builder;

    public int Number { get; } = number;

    public string HostName => "test-host";

    public string? Reason => null;

    public IReadOnlyList<SourceStamp> SourceStamps => [];

    public IReadOnlyList<BuildChange> Changes => [];

    public IReadOnlyList<string> ResponsibleUsers => [];

    public string? WorkerName => null;

    public IReadOnlyDictionary<string, PropertyValue> Properties { get; } = new Dictionary<string, PropertyValue>();

    public DateTimeOffset StartedAt => DateTimeOffset.UnixEpoch;

    public DateTimeOffset? FinishedAt => null;

    public bool IsFinished => false;

    public string StateText => "running";

    public BuildResult? Result => null;

    public IReadOnlyList<IStepStatus> Steps => [];

    public IStepStatus? CurrentStep => null;

    public DateTimeOffset? Eta => null;

    public PropertyValue? GetProperty(string name) => null;

    public Task WaitUntilFinishedAsync(CancellationToken cancellationToken = default) => Task.Delay(Timeout.Infinite, cancellationToken);
}
