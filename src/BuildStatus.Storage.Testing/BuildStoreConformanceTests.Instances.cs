using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <summary>Instances, leases, recovery claims, fencing and idempotent creation (<see cref="IBuildInstanceStore"/>); ignored for a store without them.</summary>
public abstract partial class BuildStoreConformanceTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private IBuildInstanceStore Instances
        => Store as IBuildInstanceStore is { SupportsInstances: true } instances ? instances : throw new IgnoreException("The store has no instances (IBuildInstanceStore).");

    /// <summary>Instance ids are distinct and increase; a stopped instance's id is not reused.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task RegisterInstanceAsync_Twice_DistinctIncreasingIds_WithTheLease()
    {
        var first = await Instances.RegisterInstanceAsync("host-a", T0, Lease);
        await Instances.StopInstanceAsync(first.Id, T0.AddSeconds(1));
        var second = await Instances.RegisterInstanceAsync("host-a", T0.AddSeconds(2), Lease);

        Assert.That(second.Id, Is.GreaterThan(first.Id));
        Assert.That(first.HostName, Is.EqualTo("host-a"));
        Assert.That(first.StartedAt, Is.EqualTo(T0));
        Assert.That(first.ExpiresAt, Is.EqualTo(T0 + Lease));
        Assert.That(first.IsLiveAt(T0.AddSeconds(1)), Is.True);
    }

    /// <summary>Renewal extends the lease; a stopped or claimed instance cannot renew.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task RenewLeaseAsync_ExtendsTheLease_UntilStoppedOrClaimed()
    {
        var a = await Instances.RegisterInstanceAsync("a", T0, Lease);
        var b = await Instances.RegisterInstanceAsync("b", T0, Lease);
        var c = await Instances.RegisterInstanceAsync("c", T0, Lease);

        var renewed = await Instances.RenewLeaseAsync(a.Id, T0.AddSeconds(20), Lease);
        Assert.That(renewed!.ExpiresAt, Is.EqualTo(T0.AddSeconds(20) + Lease));
        Assert.That(renewed.HeartbeatAt, Is.EqualTo(T0.AddSeconds(20)));

        await Instances.StopInstanceAsync(b.Id, T0.AddSeconds(21));
        Assert.That(await Instances.RenewLeaseAsync(b.Id, T0.AddSeconds(22), Lease), Is.Null, "a stopped instance is dead");

        await Instances.RenewLeaseAsync(a.Id, T0.AddSeconds(60), Lease);
        var claimed = await Instances.ClaimDeadInstancesAsync(a.Id, T0.AddSeconds(61));
        Assert.That(claimed.Select(i => i.Id), Is.EquivalentTo(new[] { b.Id, c.Id }));
        Assert.That(await Instances.RenewLeaseAsync(c.Id, T0.AddSeconds(62), Lease), Is.Null, "a claimed instance is fenced");
    }

    /// <summary>Only dead instances are claimed, never the claimer or a live one, and each only once while its claimer lives.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ClaimDeadInstancesAsync_ClaimsOnlyTheDead_Once()
    {
        var live = await Instances.RegisterInstanceAsync("same-name", T0, Lease);
        var expired = await Instances.RegisterInstanceAsync("same-name", T0, TimeSpan.FromSeconds(5));
        var claimer = await Instances.RegisterInstanceAsync("other", T0, Lease);
        var other = await Instances.RegisterInstanceAsync("other", T0, Lease);

        var claimed = await Instances.ClaimDeadInstancesAsync(claimer.Id, T0.AddSeconds(10));
        var again = await Instances.ClaimDeadInstancesAsync(other.Id, T0.AddSeconds(11));

        Assert.That(claimed.Select(i => i.Id), Is.EqualTo(new[] { expired.Id }), "a live instance with the same host name is never claimed");
        Assert.That(claimed[0].ClaimedBy, Is.EqualTo(claimer.Id));
        Assert.That(again, Is.Empty, "a live claimer holds its claim");
        Assert.That((await Instances.GetInstancesAsync()).Select(i => i.Id), Does.Contain(live.Id));
    }

    /// <summary>Many claimers at once: every dead instance is claimed by exactly one.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ClaimDeadInstancesAsync_ConcurrentClaimers_EachDeadInstanceExactlyOnce()
    {
        var dead = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            dead.Add((await Instances.RegisterInstanceAsync($"dead-{i}", T0, TimeSpan.FromSeconds(1))).Id);
        }

        var claimers = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            claimers.Add((await Instances.RegisterInstanceAsync($"live-{i}", T0, Lease)).Id);
        }

        var at = T0.AddSeconds(5);
        var results = await Task.WhenAll(claimers.Select(c => Task.Run(() => Instances.ClaimDeadInstancesAsync(c, at))));

        var all = results.SelectMany(r => r.Select(i => i.Id)).ToArray();
        Assert.That(all, Is.Unique);
        Assert.That(all, Is.EquivalentTo(dead));
    }

    /// <summary>A claimer that dies before completing a recovery leaves its claims to the next live instance.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ClaimDeadInstancesAsync_ClaimerDiedBeforeCompleting_AnotherReclaims_CompletedOnesAreGone()
    {
        var dead = await Instances.RegisterInstanceAsync("dead", T0, TimeSpan.FromSeconds(1));
        var done = await Instances.RegisterInstanceAsync("done", T0, TimeSpan.FromSeconds(1));
        var first = await Instances.RegisterInstanceAsync("first", T0, TimeSpan.FromSeconds(10));
        var second = await Instances.RegisterInstanceAsync("second", T0, Lease);
        Assert.That((await Instances.ClaimDeadInstancesAsync(first.Id, T0.AddSeconds(2))).Select(i => i.Id), Is.EquivalentTo(new[] { dead.Id, done.Id }));
        await Instances.CompleteRecoveryAsync(done.Id, first.Id, T0.AddSeconds(3));

        var reclaimed = await Instances.ClaimDeadInstancesAsync(second.Id, T0.AddSeconds(20));

        Assert.That(reclaimed.Select(i => i.Id), Is.EquivalentTo(new[] { dead.Id, first.Id }));
        Assert.That((await Instances.GetInstancesAsync()).Select(i => i.Id), Does.Not.Contain(done.Id), "a completed recovery is no longer listed");
    }

    /// <summary>A claimed instance's writes are refused with InstanceFencedException, and nothing of them is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAndCreate_OfAClaimedInstance_AreFenced()
    {
        var zombie = await Instances.RegisterInstanceAsync("zombie", T0, TimeSpan.FromSeconds(1));
        var survivor = await Instances.RegisterInstanceAsync("survivor", T0, Lease);
        var number = await Store.CreateBuildAsync(NewBuild("linux", 0) with { InstanceId = zombie.Id, CreationId = "z-1" });
        await Instances.ClaimDeadInstancesAsync(survivor.Id, T0.AddSeconds(5));

        var finished = NewBuild("linux", number) with { FinishedAt = T0.AddSeconds(6), Result = BuildResult.Success, StateText = "zombie says done" };
        Assert.ThrowsAsync<InstanceFencedException>(async () => await Store.ApplyAsync(new WriteBatch { InstanceId = zombie.Id, Builds = [finished] }));
        Assert.ThrowsAsync<InstanceFencedException>(async () => await Store.CreateBuildAsync(NewBuild("linux", 0) with { InstanceId = zombie.Id, CreationId = "z-2" }));

        var stored = await Store.GetBuildAsync(new BuildKey("linux", number));
        Assert.That(stored!.IsFinished, Is.False, "the fenced write changed nothing");
        await Store.ApplyAsync(new WriteBatch { InstanceId = survivor.Id, Builds = [stored with { FinishedAt = T0.AddSeconds(7), Result = BuildResult.Retry, StateText = "recovered" }] });
        Assert.That((await Store.GetBuildAsync(new BuildKey("linux", number)))!.Result, Is.EqualTo(BuildResult.Retry));
    }

    /// <summary>A creation retried with the same creation id gets the same number and no second build.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task CreateBuildAsync_SameCreationIdTwice_ReturnsTheFirstNumber()
    {
        var me = await Instances.RegisterInstanceAsync("me", T0, Lease);
        var build = NewBuild("linux", 0) with { InstanceId = me.Id, CreationId = "me:1" };

        var first = await Store.CreateBuildAsync(build);
        var retry = await Store.CreateBuildAsync(build);
        var next = await Store.CreateBuildAsync(build with { CreationId = "me:2" });

        Assert.That(retry, Is.EqualTo(first));
        Assert.That(next, Is.EqualTo(first + 1));
        Assert.That(await Store.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(2));
    }

    /// <summary>The unfinished builds of an instance are the ones it created and nobody finished, whatever the host name.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task GetUnfinishedBuildsOfInstanceAsync_OnlyThatInstancesUnfinishedBuilds()
    {
        var a = await Instances.RegisterInstanceAsync("same", T0, Lease);
        var b = await Instances.RegisterInstanceAsync("same", T0, Lease);
        var a1 = await Store.CreateBuildAsync(NewBuild("linux", 0) with { InstanceId = a.Id, CreationId = "a1" });
        var a2 = await Store.CreateBuildAsync(NewBuild("linux", 0) with { InstanceId = a.Id, CreationId = "a2" });
        await Store.CreateBuildAsync(NewBuild("linux", 0) with { InstanceId = b.Id, CreationId = "b1" });
        await Store.ApplyAsync(new WriteBatch { InstanceId = a.Id, Builds = [NewBuild("linux", a2) with { FinishedAt = T0.AddSeconds(1), Result = BuildResult.Success }] });

        var unfinished = await Instances.GetUnfinishedBuildsOfInstanceAsync(a.Id);

        Assert.That(unfinished.Select(u => u.Number), Is.EqualTo(new[] { a1 }));
        Assert.That(unfinished[0].InstanceId, Is.EqualTo(a.Id));
    }

    /// <summary>Of several instances claiming one stored request at once, exactly one gets it; a dead claimer's claim returns to pending.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ClaimRequestAsync_ConcurrentClaimers_ExactlyOne_AndReleaseReturnsItToPending()
    {
        var claimers = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            claimers.Add((await Instances.RegisterInstanceAsync($"host-{i}", T0, Lease)).Id);
        }

        var request = new StoredBuildRequest(1L << 32 | 1, "linux", "push", [], new Dictionary<string, PropertyValue>(StringComparer.Ordinal), 0, T0, BuildRequestState.Pending, null, null);
        await Store.ApplyAsync(new WriteBatch { Requests = [request] });

        var results = await Task.WhenAll(claimers.Select(c => Task.Run(() => Instances.ClaimRequestAsync(request.Id, c))));

        Assert.That(results.Count(r => r), Is.EqualTo(1), "exactly one claimer gets the request");
        var winner = claimers[Array.IndexOf(results, true)];
        var claimed = (await Instances.GetRequestsAsync("linux", BuildRequestState.Claimed)).Single();
        Assert.That(claimed.ClaimedBy, Is.EqualTo(winner));
        Assert.That(await Instances.ReleaseRequestsAsync(winner), Is.EqualTo(1));
        var pending = (await Instances.GetRequestsAsync("linux", BuildRequestState.Pending)).Single();
        Assert.That((pending.Id, pending.ClaimedBy), Is.EqualTo((request.Id, (long?)null)));

        await Store.ApplyAsync(new WriteBatch { Requests = [pending with { State = BuildRequestState.Started, BuildNumber = 7 }] });
        await Store.ApplyAsync(new WriteBatch { Requests = [pending] });
        Assert.That((await Instances.GetRequestsAsync(null, null)).Single().State, Is.EqualTo(BuildRequestState.Started), "started is final");
        Assert.That(await Instances.ClaimRequestAsync(request.Id, claimers[0]), Is.False, "a started request cannot be claimed");
    }
}
