using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>The PostgreSQL event outbox's notifications: LISTEN wakes a waiting reader, and a lost LISTEN connection comes back.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class OutboxTests
{
    private static readonly TestDatabase Database = new();

    private static StoredEvent Started(int number) => new(StatusEventKinds.BuildStarted, DateTimeOffset.UnixEpoch.AddDays(20000), "linux", number) { HostName = "writer", InstanceId = 1 };

    private static StoredBuild Build(int number) => new("linux", number, "writer", null, [], [], [], null, new Dictionary<string, PropertyValue>(), DateTimeOffset.UnixEpoch.AddDays(20000), null, "running", null);

    [Test]
    [CancelAfter(120_000)]
    public async Task WaitForEventsAsync_AnotherStoreCommits_WokenByTheNotification()
    {
        var schema = "o_" + Guid.NewGuid().ToString("N")[..20];
        await using var writer = new PostgresBuildStore(Database.Options(schema));
        await using var reader = new PostgresBuildStore(Database.Options(schema));
        await writer.InitializeAsync();
        var start = await reader.GetLastEventSequenceAsync();
        await reader.WaitForEventsAsync(start, TimeSpan.FromMilliseconds(1)); // starts the listener
        await Eventually.TrueAsync(() => reader.Listener.IsListening, "timed out", TimeSpan.FromSeconds(60));

        var wait = reader.WaitForEventsAsync(start, TimeSpan.FromSeconds(90));
        await writer.ApplyAsync(new WriteBatch { Builds = [Build(1)], Events = [Started(1)] });

        Assert.That(await wait, Is.True, "woken by NOTIFY, long before the 90 s timeout");
        var page = await reader.ReadEventsAsync(start, 10);
        Assert.That(page.Events.Select(e => e.BuildNumber), Is.EqualTo(new[] { 1 }));
        Assert.That(await reader.WaitForEventsAsync(start, TimeSpan.FromSeconds(90)), Is.True, "a notification above the sequence already arrived: at once");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ListenConnectionKilled_ListensAgain_AndWakesReaders()
    {
        var schema = "o_" + Guid.NewGuid().ToString("N")[..20];
        await using var writer = new PostgresBuildStore(Database.Options(schema));
        await using var reader = new PostgresBuildStore(Database.Options(schema));
        await writer.InitializeAsync();
        var start = await reader.GetLastEventSequenceAsync();
        await reader.WaitForEventsAsync(start, TimeSpan.FromMilliseconds(1));
        await Eventually.TrueAsync(() => reader.Listener.IsListening, "timed out", TimeSpan.FromSeconds(60));

        // The server ends the listening backend, as a network drop or a restart would.
        await using (var admin = new NpgsqlConnection(Database.ConnectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND query LIKE $1", admin);
            kill.Parameters.AddWithValue("%" + schema + "%");
            Assert.That(await kill.ExecuteScalarAsync(), Is.EqualTo(1L));
        }

        await Eventually.TrueAsync(() => reader.Listener.Reconnects >= 1 && reader.Listener.IsListening, "timed out", TimeSpan.FromSeconds(60));
        var wait = reader.WaitForEventsAsync(start, TimeSpan.FromSeconds(90));
        await writer.ApplyAsync(new WriteBatch { Builds = [Build(1)], Events = [Started(1)] });

        Assert.That(await wait, Is.True, "notifications flow again on the new connection");
        Assert.That((await reader.ReadEventsAsync(start, 10)).Events, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ShareEventsOff_NoFeed_AndABatchsEventsAreNotWritten()
    {
        var schema = "o_" + Guid.NewGuid().ToString("N")[..20];
        await using var on = new PostgresBuildStore(Database.Options(schema));
        var options = Database.Options(schema);
        options.ShareEvents = false;
        await using var quiet = new PostgresBuildStore(options);
        await on.InitializeAsync();
        var start = await on.GetLastEventSequenceAsync();

        await quiet.ApplyAsync(new WriteBatch { Builds = [Build(1)], Events = [Started(1)] });

        Assert.That(((IBuildEventFeed)quiet).SupportsEvents, Is.False, "Core derives no events for it");
        Assert.ThrowsAsync<NotSupportedException>(async () => await quiet.ReadEventsAsync(0, 10));
        Assert.That((await on.ReadEventsAsync(start, 10)).Events, Is.Empty, "the batch's rows were written, its events were not");
        Assert.That(await on.GetBuildAsync(new BuildKey("linux", 1)), Is.Not.Null);
    }

}
