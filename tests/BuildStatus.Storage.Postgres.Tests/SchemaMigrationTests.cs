using BuildStatus.Storage.Postgres.Internal;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

public sealed class SchemaMigrationTests
{
    private static readonly TestDatabase Database = new();

    private static string NewSchema() => "m_" + Guid.NewGuid().ToString("N")[..20];

    private static async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public async Task InitializeAsync_NewSchema_CreatesItAndRecordsEveryVersion()
    {
        var schema = NewSchema();
        await using var store = new PostgresBuildStore(Database.Options(schema));

        await store.InitializeAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await ScalarAsync($"SELECT count(*) FROM {schema}.schema_version"), Is.EqualTo(PostgresBuildStore.SchemaVersion));
            Assert.That(await ScalarAsync($"SELECT max(version) FROM {schema}.schema_version"), Is.EqualTo(SchemaMigrator.LatestVersion));
            Assert.That(await ScalarAsync($"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = 'log_chunks'"), Is.EqualTo(1));
        });
    }

    [Test]
    [Repeat(3)]
    public async Task InitializeAsync_SeveralStoresOnNewSchemaConcurrently_AllSucceedAndMigrateOnce()
    {
        var schema = NewSchema();
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgresBuildStore(Database.Options(schema))).ToList();
        try
        {
            using var start = new ManualResetEventSlim();
            var tasks = stores.Select(s => Task.Run(async () =>
            {
                start.Wait();
                await s.InitializeAsync();
            })).ToList();
            start.Set();
            await Task.WhenAll(tasks);

            Assert.That(await ScalarAsync($"SELECT count(*) FROM {schema}.schema_version"), Is.EqualTo(SchemaMigrator.LatestVersion), "each script ran once");
            Assert.That(await stores[^1].CreateBuildAsync(TestData.Build()), Is.EqualTo(1));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task InitializeAsync_Again_AppliesNothingAndKeepsData()
    {
        var schema = NewSchema();
        await using (var first = new PostgresBuildStore(Database.Options(schema)))
        {
            await first.CreateBuildAsync(TestData.Build());
        }

        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        Assert.That(await SchemaMigrator.MigrateAsync(connection, schema, CancellationToken.None), Is.Zero);
        await using var second = new PostgresBuildStore(Database.Options(schema));
        Assert.That(await second.GetBuildAsync(new BuildKey("linux", 1)), Is.Not.Null);
    }

    [Test]
    public async Task InitializeAsync_Version1WithBuilds_UpgradesToInstances_OldBuildsKeptWithoutAnInstance()
    {
        var schema = NewSchema();
        await using (var connection = new NpgsqlConnection(Database.ConnectionString))
        {
            await connection.OpenAsync();
            Assert.That(await SchemaMigrator.MigrateAsync(connection, schema, CancellationToken.None, targetVersion: 1), Is.EqualTo(1));
        }

        await using (var v1 = new NpgsqlConnection(Database.ConnectionString))
        {
            // A build written by version 1 of the schema (no instance columns yet).
            await v1.OpenAsync();
            await using var insert = new NpgsqlCommand(
                $"INSERT INTO {schema}.builders (name, last_number) VALUES ('linux', 1); "
                + $"INSERT INTO {schema}.builds (builder_id, number, host_name, started_at, state_text) SELECT id, 1, 'old-host', 0, 'building' FROM {schema}.builders",
                v1);
            await insert.ExecuteNonQueryAsync();
        }

        await using var store = new PostgresBuildStore(Database.Options(schema));
        await store.InitializeAsync();

        Assert.That(await ScalarAsync($"SELECT max(version) FROM {schema}.schema_version"), Is.EqualTo(SchemaMigrator.LatestVersion));
        var instance = await store.RegisterInstanceAsync("new-host", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        Assert.That(await store.GetUnfinishedBuildsOfInstanceAsync(instance.Id), Is.Empty, "a build from before instances belongs to no instance");
        Assert.That((await store.GetUnfinishedBuildsAsync("old-host")).Select(b => b.Number), Is.EqualTo(new[] { 1 }), "it is still found by its host name");
        var number = await store.CreateBuildAsync(TestData.Build() with { InstanceId = instance.Id, CreationId = $"{instance.Id}:1" });
        Assert.That(number, Is.EqualTo(2));
        Assert.That((await store.GetUnfinishedBuildsOfInstanceAsync(instance.Id)).Select(b => b.Number), Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public async Task InitializeAsync_NewerSchemaVersion_ThrowsNamingBothVersionsAndRefusesReads()
    {
        var schema = NewSchema();
        await using (var first = new PostgresBuildStore(Database.Options(schema)))
        {
            await first.InitializeAsync();
        }

        var newer = SchemaMigrator.LatestVersion + 5;
        await PostgresServer.Instance.ExecuteAdminAsync($"INSERT INTO {schema}.schema_version (version, name) VALUES ({newer}, 'from_the_future')", Database.Name);
        await using var store = new PostgresBuildStore(Database.Options(schema));

        var error = Assert.ThrowsAsync<BuildStoreException>(() => store.InitializeAsync());
        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain($"version {newer}").And.Contain($"version {SchemaMigrator.LatestVersion}").And.Contain(schema));
            Assert.That(() => store.GetBuildersAsync(), Throws.TypeOf<BuildStoreException>());
        });
    }

    [Test]
    public async Task DisposeAsync_ThenUse_ThrowsObjectDisposed()
    {
        var store = new PostgresBuildStore(Database.Options(NewSchema()));
        await store.InitializeAsync();
        await store.DisposeAsync();
        await store.DisposeAsync();

        Assert.That(() => store.CreateBuildAsync(TestData.Build()), Throws.InstanceOf<ObjectDisposedException>());
    }
}
