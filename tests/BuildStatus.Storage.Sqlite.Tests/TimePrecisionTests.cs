using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>One time precision (microseconds) from the clock through RAM into SQLite and back.</summary>
public sealed class TimePrecisionTests
{
    // A clock with every sub-second digit set, down to the tick.
    private static readonly DateTimeOffset OddTime = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    [Test]
    public async Task LoadBuildStatusAsync_BuildThatLeftRam_EqualsTheLiveBuildInEveryTime()
    {
        await using var test = new TestStore();
        var time = new FakeTimeProvider(OddTime);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddBuildStatus(b => b.UseSqlite(test.ConnectionString).Configure(o => o.RecentBuildsPerBuilder = 0));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();
        await host.StartAsync();

        var build = await host.AddBuilder("linux").StartBuildAsync();
        time.Advance(TimeSpan.FromTicks(12_345_678));
        var step = build.AddStep("compile");
        step.Start();
        time.Advance(TimeSpan.FromTicks(9_876_543));
        step.Finish(BuildResult.Success);
        time.Advance(TimeSpan.FromTicks(5));
        await build.FinishAsync(BuildResult.Success);

        var loaded = await host.Adapter.LoadBuildStatusAsync("linux", build.Number);
        var stored = await host.History.GetBuildAsync("linux", build.Number);
        var storedStep = (await stored!.GetStepsAsync()).Single();
        var from = await host.History.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = build.StartedAt });
        var after = await host.History.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = build.StartedAt.AddTicks(1) });
        var before = await host.History.QueryBuildsAsync(new BuildQuery("linux") { StartedBefore = build.StartedAt.AddTicks(1) });
        await host.StopAsync();

        Assert.Multiple(() =>
        {
            Assert.That(build.StartedAt.UtcTicks % StorageTime.TicksPerUnit, Is.Zero, "live times are whole microseconds");
            Assert.That(loaded, Is.Not.SameAs(build), "the build left RAM, so it is loaded from storage");
            Assert.That(loaded!.StartedAt.UtcTicks, Is.EqualTo(build.StartedAt.UtcTicks));
            Assert.That(loaded.FinishedAt!.Value.UtcTicks, Is.EqualTo(build.FinishedAt!.Value.UtcTicks));
            Assert.That(loaded.Steps.Single().StartedAt!.Value.UtcTicks, Is.EqualTo(step.StartedAt!.Value.UtcTicks));
            Assert.That(loaded.Steps.Single().FinishedAt!.Value.UtcTicks, Is.EqualTo(step.FinishedAt!.Value.UtcTicks));
            Assert.That(stored.StartedAt.UtcTicks, Is.EqualTo(build.StartedAt.UtcTicks));
            Assert.That(storedStep.FinishedAt!.Value.UtcTicks, Is.EqualTo(step.FinishedAt!.Value.UtcTicks));
            Assert.That(from.Builds.Select(b => b.Number), Is.EqualTo(new[] { build.Number }));
            Assert.That(after.Builds, Is.Empty, "StartedAtOrAfter one tick after the start excludes the build");
            Assert.That(before.Builds.Select(b => b.Number), Is.EqualTo(new[] { build.Number }));
        });
    }

    [Test]
    public async Task InitializeAsync_Version1DatabaseInMilliseconds_ReadsTheSameInstants()
    {
        await using var test = new TestStore();
        var started = new DateTimeOffset(2026, 3, 1, 10, 0, 0, 123, TimeSpan.Zero);
        using (var connection = test.Connect())
        {
            // A file as version 1 of the schema wrote it: times in unix milliseconds.
            Execute(connection, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;");
            Execute(connection, Internal.SchemaMigrator.Migrations[0].Sql);
            Execute(connection, "INSERT INTO schema_version VALUES (1, '0001_initial', '2026-03-01T10:00:00Z');");
            var ms = started.ToUnixTimeMilliseconds();
            Execute(connection, "INSERT INTO builders (id, name, last_number) VALUES (1, 'linux', 1);");
            Execute(connection, $"INSERT INTO builds (id, builder_id, number, host_name, started_at, finished_at, result, state_text) VALUES (1, 1, 1, 'h', {ms}, {ms + 5000}, 0, 'done');");
            Execute(connection, $"INSERT INTO steps (id, build_id, number, name, state_text, started_at, finished_at, is_hidden) VALUES (1, 1, 1, 's', 'done', {ms + 1}, NULL, 0);");
            Execute(connection, $"INSERT INTO workers (id, name, is_connected, last_seen) VALUES (1, 'w', 0, {ms + 2});");
            Execute(connection, "INSERT INTO workers (id, name, is_connected, last_seen) VALUES (2, 'never', 0, NULL);");
        }

        var store = await test.OpenInitializedAsync();

        var build = await store.GetBuildAsync(new BuildKey("linux", 1));
        var step = (await store.GetStepsAsync(new BuildKey("linux", 1))).Single();
        Assert.Multiple(async () =>
        {
            Assert.That(build!.StartedAt, Is.EqualTo(started));
            Assert.That(build.FinishedAt, Is.EqualTo(started.AddSeconds(5)));
            Assert.That(step.StartedAt, Is.EqualTo(started.AddMilliseconds(1)));
            Assert.That(step.FinishedAt, Is.Null);
            Assert.That((await store.GetWorkerAsync("w"))!.LastSeen, Is.EqualTo(started.AddMilliseconds(2)));
            Assert.That((await store.GetWorkerAsync("never"))!.LastSeen, Is.Null);
            Assert.That(await store.QueryBuildsAsync(new BuildQuery("linux") { StartedAtOrAfter = started, StartedBefore = started.AddTicks(1) }), Has.Count.EqualTo(1));
        });
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
