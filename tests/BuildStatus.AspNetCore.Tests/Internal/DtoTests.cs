using BuildStatus;
using BuildStatus.AspNetCore.Internal;

namespace BuildStatus.AspNetCore.Tests.Internal;

[TestFixture]
public sealed class DtoTests
{
    // Regression: a live build publishes BuildFinished with FinishedAt set a moment before IsFinished turns true;
    // the grid showed such a build as running forever.
    [Test]
    public void Summary_FinishedAtSetButIsFinishedNotYet_IsFinished()
    {
        var build = new HalfFinishedBuild();

        var summary = Dto.Summary(build);

        Assert.That(summary.Finished, Is.True);
        Assert.That(summary.Result, Is.EqualTo("failure"));
        Assert.That(summary.Eta, Is.Null);
        Assert.That(summary.CurrentStep, Is.Null);
    }

    private sealed class HalfFinishedBuild : IBuildStatus, IBuilderStatus
    {
        public IBuilderStatus Builder => this;

        public int Number => 7;

        public string HostName => "h";

        public string? Reason => null;

        public IReadOnlyList<SourceStamp> SourceStamps => [];

        public IReadOnlyList<BuildChange> Changes => [];

        public IReadOnlyList<string> ResponsibleUsers => [];

        public string? WorkerName => null;

        public IReadOnlyDictionary<string, PropertyValue> Properties => new Dictionary<string, PropertyValue>();

        public DateTimeOffset StartedAt => DateTimeOffset.UnixEpoch;

        public DateTimeOffset? FinishedAt => DateTimeOffset.UnixEpoch.AddSeconds(5);

        public bool IsFinished => false;

        public string StateText => "failure";

        public BuildResult? Result => BuildResult.Failure;

        public IReadOnlyList<IStepStatus> Steps => [];

        public IStepStatus? CurrentStep => null;

        public DateTimeOffset? Eta => DateTimeOffset.UnixEpoch.AddSeconds(9);

        public string Name => "b";

        public string? Description => null;

        public IReadOnlyList<string> Tags => [];

        public BuilderState State => BuilderState.Idle;

        public IReadOnlyList<IBuildStatus> CurrentBuilds => [];

        public IReadOnlyList<IBuildRequestStatus> PendingRequests => [];

        public IBuildStatus? LastFinishedBuild => null;

        public IReadOnlyList<IBuildStatus> RecentBuilds => [];

        public IReadOnlyList<IWorkerStatus> Workers => [];

        public TimeSpan? ExpectedDuration => null;

        public PropertyValue? GetProperty(string name) => null;

        public Task WaitUntilFinishedAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public IBuildStatus? GetBuild(int number) => null;
    }
}
