using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Core.Tests.Persistence;

/// <summary>Keyset paging through <see cref="IBuildHistory.QueryBuildsAsync"/>: <see cref="BuildPage.Next"/> is null exactly when nothing follows.</summary>
[TestFixture]
public sealed class BuildPageTests
{
    // Builds 1 and 2 fail and do not match; the next `matching` builds succeed and match the query.
    [TestCase(3, 3)]
    [TestCase(3, 1)]
    [TestCase(6, 3)]
    [TestCase(7, 3)]
    [TestCase(2, 5)]
    public async Task QueryBuildsAsync_PagesThroughEveryMatch_NextIsNullOnTheLastPage(int matching, int limit)
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");
        for (var i = 0; i < 2 + matching; i++)
        {
            await (await builder.StartBuildAsync()).FinishAsync(i < 2 ? BuildResult.Failure : BuildResult.Success);
        }

        var pages = new List<int[]>();
        BuildQuery? next = new BuildQuery("b") { Limit = limit, Results = new HashSet<BuildResult> { BuildResult.Success } };
        while (next is not null && pages.Count <= matching)
        {
            var page = await t.Host.History.QueryBuildsAsync(next);
            pages.Add([.. page.Builds.Select(b => b.Number)]);
            next = page.Next;
        }

        Assert.Multiple(() =>
        {
            Assert.That(pages.SelectMany(p => p), Is.EqualTo(Enumerable.Range(3, matching).Reverse()));
            Assert.That(pages, Has.Count.EqualTo((matching + limit - 1) / limit), "no empty last page");
            Assert.That(pages, Has.All.Not.Empty);
        });
    }

    [Test]
    public async Task QueryBuildsAsync_ExactlyMaxLimitMatch_NextIsNullAndNoQueryAsksForMore()
    {
        var store = new LimitRecordingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var builder = t.Host.AddBuilder("b");
        for (var i = 0; i < BuildQuery.MaxLimit + 2; i++)
        {
            await (await builder.StartBuildAsync()).FinishAsync(i == 0 ? BuildResult.Failure : BuildResult.Success);
        }

        var success = new HashSet<BuildResult> { BuildResult.Success };
        var full = await t.Host.History.QueryBuildsAsync(new BuildQuery("b") { Limit = BuildQuery.MaxLimit, Results = success });
        var last = await t.Host.History.QueryBuildsAsync(new BuildQuery("b") { Limit = BuildQuery.MaxLimit, Results = success, BeforeNumber = BuildQuery.MaxLimit + 2 });

        Assert.Multiple(() =>
        {
            Assert.That(full.Builds, Has.Count.EqualTo(BuildQuery.MaxLimit));
            Assert.That(full.Next?.BeforeNumber, Is.EqualTo(3), "build 2 follows");
            Assert.That(last.Builds, Has.Count.EqualTo(BuildQuery.MaxLimit));
            Assert.That(last.Next, Is.Null, "exactly MaxLimit builds matched: builds 1001 to 2 (build 1 failed)");
            Assert.That(store.Limits, Has.All.LessThanOrEqualTo(BuildQuery.MaxLimit));
        });
    }

    /// <summary>Records the page size of every query the store is asked.</summary>
    private sealed class LimitRecordingStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private readonly List<int> _limits = [];

        public IReadOnlyList<int> Limits
        {
            get
            {
                lock (_limits)
                {
                    return [.. _limits];
                }
            }
        }

        public override Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default)
        {
            lock (_limits)
            {
                _limits.Add(query.Limit);
            }

            return base.QueryBuildsAsync(query, cancellationToken);
        }
    }
}
