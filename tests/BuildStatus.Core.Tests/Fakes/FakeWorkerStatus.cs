namespace BuildStatus.Core.Tests.Fakes;

/// <summary>A worker status with a name and nothing else.</summary>
internal sealed class FakeWorkerStatus(string name) : IWorkerStatus
{
    public string Name { get; } = name;

    public string? Host => null;

    public IReadOnlyDictionary<string, string> Info { get; } = new Dictionary<string, string>();

    public bool IsConnected => true;

    public DateTimeOffset? LastSeen => null;

    public IReadOnlyList<IBuildStatus> RunningBuilds => [];
}
