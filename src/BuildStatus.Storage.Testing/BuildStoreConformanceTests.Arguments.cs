using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Cancellation at the SPI boundary. (Arguments are Core's to check: a store is never called with a
/// <see langword="null"/> argument or key, or a negative line range, so the suite does not call it so.)</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>Every member throws <see cref="OperationCanceledException"/> (or a subclass) for an already-cancelled token.</summary>
    /// <param name="call">The call, given the store and the token.</param>
    /// <returns>A task.</returns>
    [TestCaseSource(nameof(CancellableCases))]
    public async Task Method_CancelledToken_ThrowsOperationCanceledException(Func<IBuildStore, CancellationToken, Task> call)
    {
        await SeedLogAsync();

        Assert.CatchAsync<OperationCanceledException>(async () => await call(Store, new CancellationToken(canceled: true)));
    }

    /// <summary>A batch applied with an already-cancelled token stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_CancelledToken_StoresNothing()
    {
        var batch = new WriteBatch { Builders = [new StoredBuilder("linux", null, [])], Builds = [NewBuild("linux", 1)] };

        Assert.CatchAsync<OperationCanceledException>(async () => await Store.ApplyAsync(batch, new CancellationToken(canceled: true)));

        Assert.That(await Store.GetBuildersAsync(), Is.Empty);
        Assert.That(await Store.GetBuildAsync(new BuildKey("linux", 1)), Is.Null);
    }

    /// <summary>A build created with an already-cancelled token allocates no number.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_CancelledToken_AllocatesNothing()
    {
        Assert.CatchAsync<OperationCanceledException>(async () => await Store.CreateBuildAsync(NewBuild("linux", 0), new CancellationToken(canceled: true)));

        Assert.That(await Store.CreateBuildAsync(NewBuild("linux", 0)), Is.EqualTo(1));
    }

    private static IEnumerable<TestCaseData> CancellableCases()
    {
        var log = new LogKey("linux", 1, 1, 1);
        yield return Case((s, c) => s.InitializeAsync(c), "InitializeAsync");
        yield return Case((s, c) => s.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 2)] }, c), "ApplyAsync");
        yield return Case((s, c) => s.CreateBuildAsync(NewBuild("linux", 0), c), "CreateBuildAsync");
        yield return Case((s, c) => s.GetBuildersAsync(c), "GetBuildersAsync");
        yield return Case((s, c) => s.GetBuilderAsync("linux", c), "GetBuilderAsync");
        yield return Case((s, c) => s.GetWorkersAsync(c), "GetWorkersAsync");
        yield return Case((s, c) => s.GetWorkerAsync("w", c), "GetWorkerAsync");
        yield return Case((s, c) => s.GetBuildAsync(log.Step.Build, c), "GetBuildAsync");
        yield return Case((s, c) => s.QueryBuildsAsync(new BuildQuery("linux"), c), "QueryBuildsAsync");
        yield return Case((s, c) => s.GetStepsAsync(log.Step.Build, c), "GetStepsAsync");
        yield return Case((s, c) => s.GetLogsAsync(log.Step, c), "GetLogsAsync");
        yield return Case((s, c) => s.GetLogAsync(log, c), "GetLogAsync");
        yield return Case((s, c) => s.ReadLogLinesAsync(log, 0, 10, c), "ReadLogLinesAsync");
        yield return Case((s, c) => s.GetUnfinishedBuildsAsync("host-a", c), "GetUnfinishedBuildsAsync");
        yield return Case((s, c) => s.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 0 }, T0.AddDays(1), c), "PruneAsync");

        static TestCaseData Case(Func<IBuildStore, CancellationToken, Task> call, string name) =>
            new TestCaseData(call).SetArgDisplayNames(name);
    }
}
