namespace BuildStatus.Core.Tests.Fakes;

/// <summary>A builder status with a name and nothing else.</summary>
internal sealed class FakeBuilderStatus(string name) : IBuilderStatus
{
    public string Name { get; } = name;

    public string? Description => null;

    public IReadOnlyList<string> Tags => [];

    public BuilderState State => BuilderState.Idle;

    public IReadOnlyList<IBuildStatus> CurrentBuilds => [];

    public IReadOnlyList<IBuildRequestStatus> PendingRequests => [];

    public IBuildStatus? LastFinishedBuild => null;

    public IReadOnlyList<IBuildStatus> RecentBuilds => [];

    public IReadOnlyList<IWorkerStatus> Workers => [];

    public TimeSpan? ExpectedDuration => null;

    public IBuildStatus? GetBuild(int number) => null;
}
