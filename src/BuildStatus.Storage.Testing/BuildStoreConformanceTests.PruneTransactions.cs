using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Pruning transactions seen from outside: their size, their commits and cancellation between them.</content>
public abstract partial class BuildStoreConformanceTests
{
    // Each seeded build is one build, one step, two logs and two chunks: six rows as RetentionPolicy counts them.
    private const int RowsPerPruneBuild = 6;
    private const int PruneBuilds = 20;

    /// <summary>
    /// <see cref="RetentionPolicy.MaxRowsPerTransaction"/> is honoured where it can be seen: after each committed
    /// transaction the store reports its running totals, no transaction deletes more builds than fit in the limit,
    /// and a read made from the report sees exactly the builds reported deleted gone.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneWithProgressAsync_SmallTransactions_EachCommitIsSeenAndWithinTheLimit()
    {
        await SeedSmallBuildsAsync();
        const int MaxRows = 2 * RowsPerPruneBuild;
        var reports = new List<(PruneResult Reported, int Remaining)>();
        var progress = new SynchronousProgress(r => reports.Add((r, CountBuildsAsync().GetAwaiter().GetResult())));

        var result = await Store.PruneWithProgressAsync(new RetentionPolicy { MaxBuildsPerBuilder = 0, MaxRowsPerTransaction = MaxRows }, T0.AddDays(1), progress);

        Assert.That(result, Is.EqualTo(new PruneResult(PruneBuilds, 0)));
        Assert.That(reports, Has.Count.GreaterThanOrEqualTo(PruneBuilds * RowsPerPruneBuild / MaxRows), "one report per transaction; the limit allows at most two builds in each");
        var previous = 0;
        foreach (var (reported, remaining) in reports)
        {
            Assert.That(reported.BuildsDeleted - previous, Is.InRange(0, MaxRows / RowsPerPruneBuild), "a transaction deleted more rows than MaxRowsPerTransaction");
            Assert.That(remaining, Is.EqualTo(PruneBuilds - reported.BuildsDeleted), "a report must follow the commit of what it counts");
            previous = reported.BuildsDeleted;
        }

        Assert.That(reports[^1].Reported, Is.EqualTo(result));
    }

    /// <summary>
    /// Cancelling between transactions (here, from the first report) stops the pass before the next transaction with
    /// <see cref="OperationCanceledException"/>; what was committed stays deleted and nothing else is.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneWithProgressAsync_CancelledBetweenTransactions_StopsAndKeepsTheRest()
    {
        await SeedSmallBuildsAsync();
        using var cancellation = new CancellationTokenSource();
        PruneResult? first = null;
        var progress = new SynchronousProgress(r =>
        {
            first ??= r;
            cancellation.Cancel();
        });

        Assert.CatchAsync<OperationCanceledException>(async () => await Store.PruneWithProgressAsync(
            new RetentionPolicy { MaxBuildsPerBuilder = 0, MaxRowsPerTransaction = 2 * RowsPerPruneBuild }, T0.AddDays(1), progress, cancellation.Token));

        Assert.That(first, Is.Not.Null, "the store must report after its first transaction");
        Assert.That(first!.BuildsDeleted, Is.InRange(0, 2));
        Assert.That(await CountBuildsAsync(), Is.EqualTo(PruneBuilds - first.BuildsDeleted));
    }

    /// <summary>The plain <see cref="IBuildStore.PruneAsync"/> deletes the same as the reporting overload.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PruneAsync_WithoutProgress_DeletesTheSame()
    {
        await SeedSmallBuildsAsync();

        var result = await Store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 5, MaxRowsPerTransaction = 7 }, T0.AddDays(1));

        Assert.That(result, Is.EqualTo(new PruneResult(PruneBuilds - 5, 0)));
        Assert.That(Numbers(await Store.QueryBuildsAsync(new BuildQuery("small"))), Is.EqualTo(new[] { 20, 19, 18, 17, 16 }));
    }

    private async Task<int> CountBuildsAsync() => (await Store.QueryBuildsAsync(new BuildQuery("small") { Limit = BuildQuery.MaxLimit })).Count;

    private async Task SeedSmallBuildsAsync()
    {
        for (var n = 1; n <= PruneBuilds; n++)
        {
            var build = Finish(NewBuild("small", n), T0.AddMinutes(n));
            var step = new StepKey("small", n, 1);
            var first = new LogKey("small", n, 1, 1);
            var second = first with { LogNumber = 2 };
            await Store.ApplyAsync(new WriteBatch
            {
                Builds = [build],
                Steps = [NewStep(step)],
                Logs = [NewLog(first), NewLog(second, "stderr")],
                LogChunks = [NewChunk(first, 0, 2), NewChunk(second, 0, 2)],
            });
        }
    }

    // Reports on the store's own thread, at once (Progress<T> would post to a context and arrive late).
    private sealed class SynchronousProgress(Action<PruneResult> report) : IProgress<PruneResult>
    {
        public void Report(PruneResult value) => report(value);
    }
}
