using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Argument validation and cancellation at the SPI boundary.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>A <see langword="null"/> argument, or a key whose builder name is <see langword="null"/>, throws
    /// <see cref="ArgumentNullException"/> naming the parameter.</summary>
    /// <param name="call">The call with the bad argument.</param>
    /// <param name="paramName">The parameter it must name.</param>
    /// <returns>A task.</returns>
    [TestCaseSource(nameof(NullArgumentCases))]
    public void Method_NullArgument_ThrowsArgumentNullException(Func<IBuildStore, Task> call, string paramName)
    {
        var exception = Assert.ThrowsAsync<ArgumentNullException>(async () => await call(Store));

        Assert.That(exception!.ParamName, Is.EqualTo(paramName));
    }

    /// <summary>A negative first line or line count throws <see cref="ArgumentOutOfRangeException"/> naming the parameter.</summary>
    /// <param name="firstLine">The first line.</param>
    /// <param name="maxLines">The line count.</param>
    /// <param name="paramName">The parameter it must name.</param>
    /// <returns>A task.</returns>
    [TestCase(-1L, 10, "firstLine")]
    [TestCase(long.MinValue, 10, "firstLine")]
    [TestCase(0L, -1, "maxLines")]
    [TestCase(0L, int.MinValue, "maxLines")]
    public async Task ReadLogLinesAsync_NegativeArgument_ThrowsArgumentOutOfRangeException(long firstLine, int maxLines, string paramName)
    {
        var log = await SeedLogAsync();

        var exception = Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ReadLogLinesAsync(log, firstLine, maxLines));

        Assert.That(exception!.ParamName, Is.EqualTo(paramName));
    }

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

    private static IEnumerable<TestCaseData> NullArgumentCases()
    {
        yield return Case(s => s.ApplyAsync(null!), "batch", "ApplyAsync");
        yield return Case(s => s.CreateBuildAsync(null!), "build", "CreateBuildAsync");
        yield return Case(s => s.GetBuilderAsync(null!), "name", "GetBuilderAsync");
        yield return Case(s => s.GetWorkerAsync(null!), "name", "GetWorkerAsync");
        yield return Case(s => s.GetBuildAsync(default), "key", "GetBuildAsync");
        yield return Case(s => s.QueryBuildsAsync(null!), "query", "QueryBuildsAsync");
        yield return Case(s => s.GetStepsAsync(default), "build", "GetStepsAsync");
        yield return Case(s => s.GetLogsAsync(default), "step", "GetLogsAsync");
        yield return Case(s => s.GetLogAsync(default), "log", "GetLogAsync");
        yield return Case(s => s.ReadLogLinesAsync(default, 0, 10), "log", "ReadLogLinesAsync");
        yield return Case(s => s.GetUnfinishedBuildsAsync(null!), "hostName", "GetUnfinishedBuildsAsync");
        yield return Case(s => s.PruneAsync(null!, T0), "policy", "PruneAsync");

        static TestCaseData Case(Func<IBuildStore, Task> call, string paramName, string name) =>
            new TestCaseData(call, paramName).SetArgDisplayNames(name, paramName);
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
