using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Storage;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class RetentionPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void Classify_FinishedExactlyAtTheHorizon_IsKeptAndOneTickEarlierIsDeleted()
    {
        var planner = new RetentionPlanner(new RetentionPolicy { BuildHorizon = TimeSpan.FromDays(1), LogHorizon = TimeSpan.FromHours(1) }, Now);

        Assert.That(planner.Classify(new BuildKey("a", 4), Now - TimeSpan.FromHours(1)), Is.EqualTo(RetentionAction.Keep));
        Assert.That(planner.Classify(new BuildKey("a", 3), Now - TimeSpan.FromHours(1) - TimeSpan.FromTicks(1)), Is.EqualTo(RetentionAction.DeleteLogs));
        Assert.That(planner.Classify(new BuildKey("a", 2), Now - TimeSpan.FromDays(1)), Is.EqualTo(RetentionAction.DeleteLogs));
        Assert.That(planner.Classify(new BuildKey("a", 1), Now - TimeSpan.FromDays(1) - TimeSpan.FromTicks(1)), Is.EqualTo(RetentionAction.DeleteBuild));
        Assert.That(planner.BuildCutoff, Is.EqualTo(Now - TimeSpan.FromDays(1)));
    }

    [Test]
    public void Classify_CountLimits_RankByNumberNotFinishTime()
    {
        var planner = new RetentionPlanner(new RetentionPolicy { MaxBuildsPerBuilder = 2, MaxLogBuildsPerBuilder = 1 }, Now);

        // Build 3 finished long before build 2, yet it is the newest: "newest" is the highest number.
        var actions = new[]
        {
            planner.Classify(new BuildKey("a", 3), Now.AddDays(-30)),
            planner.Classify(new BuildKey("a", 2), Now),
            planner.Classify(new BuildKey("a", 1), Now),
            planner.Classify(new BuildKey("b", 9), Now.AddYears(-1)),
        };

        Assert.That(actions, Is.EqualTo(new[] { RetentionAction.Keep, RetentionAction.DeleteLogs, RetentionAction.DeleteBuild, RetentionAction.Keep }));
    }

    [Test]
    public void Classify_NumbersNotDescending_ThrowsInvalidOperationException()
    {
        var planner = new RetentionPlanner(new RetentionPolicy { MaxBuildsPerBuilder = 1 }, Now);
        planner.Classify(new BuildKey("a", 2), Now);

        Assert.Throws<InvalidOperationException>(() => planner.Classify(new BuildKey("a", 2), Now));
        Assert.Throws<InvalidOperationException>(() => planner.Classify(new BuildKey("a", 5), Now));
    }

    [Test]
    public void Classify_BuilderComingBack_ThrowsInvalidOperationException()
    {
        var planner = new RetentionPlanner(new RetentionPolicy { MaxBuildsPerBuilder = 1 }, Now);
        planner.Classify(new BuildKey("a", 2), Now);
        planner.Classify(new BuildKey("b", 2), Now);

        var exception = Assert.Throws<InvalidOperationException>(() => planner.Classify(new BuildKey("a", 1), Now));

        Assert.That(exception!.Message, Does.Contain("'a'"));
    }

    [Test]
    public void Constructor_InvalidPolicy_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => _ = new RetentionPlanner(null!, Now));
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new RetentionPlanner(new RetentionPolicy { MaxRowsPerTransaction = 0 }, Now));
        Assert.That(exception!.ParamName, Is.EqualTo("MaxRowsPerTransaction"));
    }

    [Test]
    public void IsEnabled_NoLimit_IsFalseAndEverythingIsKept()
    {
        var planner = new RetentionPlanner(new RetentionPolicy(), Now);

        Assert.That(planner.IsEnabled, Is.False);
        Assert.That(planner.Classify(new BuildKey("a", 1), DateTimeOffset.MinValue), Is.EqualTo(RetentionAction.Keep));
    }

    [Test]
    public void FinishedBefore_HorizonsOnly_IsTheLaterCutoffAndNullWithACount()
    {
        var horizons = new RetentionPlanner(new RetentionPolicy { BuildHorizon = TimeSpan.FromDays(7), LogHorizon = TimeSpan.FromDays(1) }, Now);
        var withCount = new RetentionPlanner(new RetentionPolicy { BuildHorizon = TimeSpan.FromDays(7), MaxLogBuildsPerBuilder = 3 }, Now);
        var buildOnly = new RetentionPlanner(new RetentionPolicy { BuildHorizon = TimeSpan.FromDays(7) }, Now);

        Assert.That(horizons.FinishedBefore, Is.EqualTo(Now - TimeSpan.FromDays(1)), "a build finished after both cutoffs is always kept");
        Assert.That(withCount.FinishedBefore, Is.Null, "a count ranks every finished build");
        Assert.That(buildOnly.FinishedBefore, Is.EqualTo(Now - TimeSpan.FromDays(7)));
        Assert.That(horizons.Classify(new BuildKey("a", 1), Now - TimeSpan.FromDays(1)), Is.EqualTo(RetentionAction.Keep));
    }
}
