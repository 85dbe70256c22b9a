using BuildStatus.Core.Tests.Support;
using BuildStatus.Process;
using BuildStatus.Storage;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Instances;

/// <summary>Stored build requests: they survive a restart, exactly one host starts each, a dead instance's claims return.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class StoredRequestTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task PendingRequest_SurvivesARestart_AndCanBeStartedThere()
    {
        // Before: requests lived only in RAM, and after a restart StartBuildAsync("linux") failed with "registered: (none)".
        var store = new InMemoryBuildStore();
        long id;
        await using (var first = await TestHost.StartAsync(store: store))
        {
            var request = first.Host.AddBuilder("linux", "Linux", ["nightly"]).SubmitRequest("push", priority: 5);
            id = request.Id;
            await first.Host.FlushAsync().WaitAsync(Limit);
        }

        await using var second = await TestHost.StartAsync(store: store);

        var linux = second.Host.FindBuilder("linux");
        Assert.That(linux, Is.Not.Null, "a builder stored by an earlier run is known after a restart");
        Assert.That(linux!.Description, Is.EqualTo("Linux"));
        var pending = linux.PendingRequests.Single();
        Assert.That((pending.Id, pending.Reason, pending.Priority), Is.EqualTo((id, "push", 5)));
        var build = await linux.StartBuildAsync(new BuildStartInfo { Request = pending }).WaitAsync(Limit);
        await build.FinishAsync().WaitAsync(Limit);
        var stored = (await second.Host.History.GetRequestsAsync("linux")).Single();
        Assert.That((stored.State, stored.BuildNumber), Is.EqualTo((BuildRequestState.Started, build.Number)));
        Assert.That(linux.PendingRequests, Is.Empty);
    }

    [Test]
    public async Task TwoHostsStartTheSameStoredRequest_ExactlyOneStartsIt()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        await using var a = await TestHost.StartAsync(store: store, time: time);
        await using var b = await TestHost.StartAsync(store: store, time: time);
        a.Host.AddBuilder("linux");
        b.Host.AddBuilder("linux");
        a.Host.FindBuilder("linux")!.SubmitRequest("push");
        await a.Host.FlushAsync().WaitAsync(Limit);
        await ((BuildStatusHost)b.Host).Lease!.TickAsync(CancellationToken.None).WaitAsync(Limit);
        var viaA = a.Host.FindBuilder("linux")!.PendingRequests.Single();
        var viaB = b.Host.FindBuilder("linux")!.PendingRequests.Single();
        Assert.That(viaB.Id, Is.EqualTo(viaA.Id), "the other host sees the stored request");

        var starts = new[]
        {
            Start(a.Host.FindBuilder("linux")!, viaA),
            Start(b.Host.FindBuilder("linux")!, viaB),
        };
        var results = await Task.WhenAll(starts).WaitAsync(Limit);

        Assert.That(results.Count(r => r is not null), Is.EqualTo(1), "exactly one host starts it");
        Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(1));
        await results.Single(r => r is not null)!.FinishAsync().WaitAsync(Limit);
    }

    [Test]
    public async Task ClaimedByAnInstanceThatDies_ReturnsToPending_AndTheSurvivorStartsIt()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new InMemoryBuildStore();
        var dying = await TestHost.StartAsync(store: new FrozenLeaseStore(store), time: time);
        var request = dying.Host.AddBuilder("linux").SubmitRequest("push");
        await dying.Host.FlushAsync().WaitAsync(Limit);
        var dyingId = dying.Host.InstanceId!.Value;
        Assert.That(await ((IBuildInstanceStore)store).ClaimRequestAsync(request.Id, dyingId), Is.True, "claimed, as a start does before its number");

        await using var survivor = await TestHost.StartAsync(store: store, time: time);
        var lease = ((BuildStatusHost)survivor.Host).Lease!;
        time.Advance(TimeSpan.FromSeconds(31));
        await lease.TickAsync(CancellationToken.None).WaitAsync(Limit);

        var stored = (await survivor.Host.History.GetRequestsAsync("linux")).Single();
        Assert.That((stored.State, stored.ClaimedBy), Is.EqualTo((BuildRequestState.Pending, (long?)null)));
        var pending = survivor.Host.FindBuilder("linux")!.PendingRequests.Single();
        var build = await survivor.Host.FindBuilder("linux")!.StartBuildAsync(new BuildStartInfo { Request = pending }).WaitAsync(Limit);
        await build.FinishAsync().WaitAsync(Limit);
        await dying.DisposeAsync();
    }

    /// <summary>An instance whose lease is never renewed: its process is gone, as far as the others can tell.</summary>
    private sealed class FrozenLeaseStore(IBuildStore inner) : BuildStatus.Storage.Testing.DelegatingBuildStore(inner)
    {
        public override async Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return null;
        }
    }

    private static async Task<IBuild?> Start(IBuilder builder, IBuildRequestStatus request)
    {
        try
        {
            return await builder.StartBuildAsync(new BuildStartInfo { Request = request });
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
