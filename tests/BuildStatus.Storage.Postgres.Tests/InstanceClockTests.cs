using System.Diagnostics;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// Leases on the server's clock (the production path; the conformance suite sends Core's instants instead): the
/// <c>now</c> a host passes is ignored, so hosts with skewed clocks agree, and leases run out in real time.
/// </summary>
public sealed class InstanceClockTests
{
    private static readonly TestDatabase Database = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static PostgresBuildStore NewStore(string schema) => new(Database.Options(schema));

    private static string NewSchema() => "c_" + Guid.NewGuid().ToString("N")[..20];

    private static async Task<DateTimeOffset> ServerNowAsync()
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint", connection);
        return StorageTime.FromUnixMicroseconds((long)(await command.ExecuteScalarAsync())!);
    }

    [Test]
    public async Task RegisterAndRenew_CallerClocksSkewedByHours_TimesAreTheServers()
    {
        var schema = NewSchema();
        await using var ahead = NewStore(schema);
        await using var behind = NewStore(schema);
        var before = await ServerNowAsync();

        var a = await ahead.RegisterInstanceAsync("ahead", DateTimeOffset.UtcNow.AddHours(5), TimeSpan.FromMinutes(1));
        var b = await behind.RegisterInstanceAsync("behind", DateTimeOffset.UtcNow.AddHours(-5), TimeSpan.FromMinutes(1));
        var renewed = await behind.RenewLeaseAsync(a.Id, DateTimeOffset.UtcNow.AddDays(-3), TimeSpan.FromMinutes(2));
        var after = await ServerNowAsync();

        foreach (var instance in new[] { a, b, renewed! })
        {
            Assert.That(instance.StartedAt, Is.InRange(before, after), $"instance {instance.Id} started on the server's clock");
            Assert.That(instance.HeartbeatAt, Is.InRange(before, after));
        }

        Assert.That(a.ExpiresAt - a.HeartbeatAt, Is.EqualTo(TimeSpan.FromMinutes(1)));
        Assert.That(renewed!.ExpiresAt - renewed.HeartbeatAt, Is.EqualTo(TimeSpan.FromMinutes(2)));
    }

    [Test]
    public async Task ClaimDeadInstancesAsync_ClaimerClockFarAhead_LiveLeaseIsNotClaimed_UntilItRunsOutOnTheServer()
    {
        var schema = NewSchema();
        await using var victim = NewStore(schema);
        await using var claimer = NewStore(schema);
        var dying = await victim.RegisterInstanceAsync("dying", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2));
        var live = await claimer.RegisterInstanceAsync("live", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));

        // A claimer whose clock says a day later must not see the fresh lease as expired.
        Assert.That(await claimer.ClaimDeadInstancesAsync(live.Id, DateTimeOffset.UtcNow.AddDays(1)), Is.Empty);

        // Then the lease runs out in real time, even when the claimer's clock lags by a day.
        var clock = Stopwatch.StartNew();
        IReadOnlyList<StoredInstance> claimed = [];
        while (claimed.Count == 0 && clock.Elapsed < Wait)
        {
            await Task.Delay(200);
            claimed = await claimer.ClaimDeadInstancesAsync(live.Id, DateTimeOffset.UtcNow.AddDays(-1));
        }

        Assert.That(claimed.Select(i => (i.Id, i.ClaimedBy)), Is.EqualTo(new[] { (dying.Id, (long?)live.Id) }));
        Assert.That(await ServerNowAsync(), Is.GreaterThanOrEqualTo(dying.ExpiresAt), "claimed only once the server's clock passed the lease");
        Assert.That(await victim.RenewLeaseAsync(dying.Id, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.Null, "the claimed instance is fenced");
    }

    [Test]
    public async Task ApplyAsync_OfAnInstanceClaimedMeanwhile_IsFencedAndStoresNothing_OthersStillWrite()
    {
        var schema = NewSchema();
        await using var zombie = NewStore(schema);
        await using var survivor = NewStore(schema);
        var z = await zombie.RegisterInstanceAsync("zombie", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1));
        var s = await survivor.RegisterInstanceAsync("survivor", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        var number = await zombie.CreateBuildAsync(TestData.Build() with { InstanceId = z.Id, CreationId = $"{z.Id}:1" });

        var clock = Stopwatch.StartNew();
        while ((await survivor.ClaimDeadInstancesAsync(s.Id, DateTimeOffset.UtcNow)).Count == 0 && clock.Elapsed < Wait)
        {
            await Task.Delay(200);
        }

        var unfinished = await survivor.GetUnfinishedBuildsOfInstanceAsync(z.Id);
        Assert.That(unfinished.Select(b => b.Number), Is.EqualTo(new[] { number }));
        var late = TestData.Build(number: number) with { FinishedAt = TestData.T0.AddMinutes(1), Result = BuildResult.Success, StateText = "zombie done" };
        var error = Assert.ThrowsAsync<InstanceFencedException>(async () => await zombie.ApplyAsync(new WriteBatch { InstanceId = z.Id, Builds = [late] }));
        Assert.That((error!.InstanceId, error.ClaimedBy), Is.EqualTo(((long?)z.Id, (long?)s.Id)));
        Assert.ThrowsAsync<InstanceFencedException>(async () => await zombie.CreateBuildAsync(TestData.Build() with { InstanceId = z.Id, CreationId = $"{z.Id}:2" }));

        await survivor.ApplyAsync(new WriteBatch { InstanceId = s.Id, Builds = [unfinished[0] with { FinishedAt = TestData.T0.AddMinutes(2), Result = BuildResult.Retry, StateText = "recovered" }] });
        var stored = await survivor.GetBuildAsync(new BuildKey("linux", number));
        Assert.That((stored!.Result, stored.StateText), Is.EqualTo(((BuildResult?)BuildResult.Retry, "recovered")));
        Assert.That(await survivor.QueryBuildsAsync(new BuildQuery("linux")), Has.Count.EqualTo(1), "the fenced create stored nothing");
    }

    [Test]
    public async Task ClaimDeadInstancesAsync_DeadInstanceWithATransactionStillOpen_IsSkippedNotWaitedFor_ClaimedOnceItEnds()
    {
        var schema = NewSchema();
        await using var zombie = NewStore(schema);
        await using var claimer = NewStore(schema);
        var z = await zombie.RegisterInstanceAsync("paused-mid-write", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(500));
        var c = await claimer.RegisterInstanceAsync("claimer", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));

        // A write of the zombie's, paused inside its transaction: it holds the instance's row FOR SHARE, as every
        // batch and build start of an instance does until it commits.
        await using var paused = new NpgsqlConnection(Database.ConnectionString);
        await paused.OpenAsync();
        await using var transaction = await paused.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand($"SELECT claimed_by FROM {schema}.instances WHERE id = {z.Id} FOR SHARE", paused, transaction))
        {
            await hold.ExecuteScalarAsync();
        }

        while (await ServerNowAsync() < z.ExpiresAt)
        {
            await Task.Delay(100);
        }

        // Before: the claim waited for the paused transaction's lock, and with it the claimer's whole heartbeat.
        Assert.That(await claimer.ClaimDeadInstancesAsync(c.Id, DateTimeOffset.UtcNow).WaitAsync(Wait), Is.Empty, "skipped while its transaction is open");
        await transaction.RollbackAsync();
        var claimed = await claimer.ClaimDeadInstancesAsync(c.Id, DateTimeOffset.UtcNow).WaitAsync(Wait);
        Assert.That(claimed.Select(i => i.Id), Is.EqualTo(new[] { z.Id }));
    }

    [Test]
    public async Task CreateBuildAsync_ManyInstancesAtOnce_NumbersUniqueAndEachCreationOnce()
    {
        var schema = NewSchema();
        var stores = Enumerable.Range(0, 4).Select(_ => NewStore(schema)).ToArray();
        try
        {
            var instances = await Task.WhenAll(stores.Select((s, i) => s.RegisterInstanceAsync($"host-{i}", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5))));
            var creations = await Task.WhenAll(stores.Select((s, i) => Task.Run(async () =>
            {
                var numbers = new List<(string Creation, int Number)>();
                for (var n = 0; n < 25; n++)
                {
                    var creation = $"{instances[i].Id}:{n}";
                    var build = TestData.Build() with { InstanceId = instances[i].Id, CreationId = creation };
                    var number = await s.CreateBuildAsync(build);

                    // A retry of the same creation (as after an ambiguous commit) returns the same number.
                    Assert.That(await s.CreateBuildAsync(build), Is.EqualTo(number));
                    numbers.Add((creation, number));
                }

                return numbers;
            })));

            var all = creations.SelectMany(c => c).ToArray();
            Assert.That(all.Select(c => c.Number), Is.Unique);
            Assert.That(all.Select(c => c.Number).Order(), Is.EqualTo(Enumerable.Range(1, 100)));
            Assert.That(await stores[0].QueryBuildsAsync(new BuildQuery("linux") { Limit = 1000 }), Has.Count.EqualTo(100));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }
}
