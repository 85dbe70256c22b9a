using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class SchemaMigrationTests
{
    [Test]
    public async Task InitializeAsync_NewFile_CreatesSchemaWalAndIncrementalVacuum()
    {
        await using var test = new TestStore();
        await test.OpenInitializedAsync();

        using var connection = test.Connect();
        Assert.Multiple(() =>
        {
            Assert.That(TestData.Scalar(connection, "SELECT max(version) FROM schema_version"), Is.EqualTo(SqliteBuildStore.SchemaVersion));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('builders','workers','builds','source_stamps','build_properties','steps','logs','log_chunks')"), Is.EqualTo(8));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ux_log_chunks_log_first_line'"), Is.EqualTo(1));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_builds_unfinished'"), Is.EqualTo(1));
            Assert.That(TestData.Scalar(connection, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), Is.EqualTo(1));
            Assert.That(TestData.Scalar(connection, "PRAGMA auto_vacuum"), Is.EqualTo(2), "INCREMENTAL");
        });
    }

    [Test]
    public async Task InitializeAsync_Again_IsNoOpAndKeepsData()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var number = await store.CreateBuildAsync(TestData.Build());

        await store.InitializeAsync();
        var second = await test.OpenInitializedAsync();

        using var connection = test.Connect();
        await Assert.MultipleAsync(async () =>
        {
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM schema_version"), Is.EqualTo(SqliteBuildStore.SchemaVersion));
            Assert.That(await second.GetBuildAsync(new BuildKey("linux", number)), Is.Not.Null);
        });
    }

    [Test]
    public async Task InitializeAsync_NewerSchemaVersion_ThrowsNamingBothVersions()
    {
        await using var test = new TestStore();
        await test.OpenInitializedAsync();
        var newer = SqliteBuildStore.SchemaVersion + 41;
        using (var connection = test.Connect())
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO schema_version (version, name, applied_at) VALUES ({newer}, '{newer:0000}_future', 'x')";
            command.ExecuteNonQuery();
        }

        var store = test.Open();

        var error = Assert.ThrowsAsync<BuildStoreException>(() => store.InitializeAsync());
        Assert.That(error!.Message, Does.Contain($"version {newer}").And.Contain($"version {SqliteBuildStore.SchemaVersion}"));
    }

    [Test]
    public async Task InitializeAsync_NewerSchemaVersion_RefusesReadsToo()
    {
        await using var test = new TestStore();
        await test.OpenInitializedAsync();
        using (var connection = test.Connect())
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO schema_version (version, name, applied_at) VALUES ({SqliteBuildStore.SchemaVersion + 1}, 'next', 'x')";
            command.ExecuteNonQuery();
        }

        var store = test.Open();

        Assert.ThrowsAsync<BuildStoreException>(() => store.GetBuildersAsync());
    }

    [Test]
    [Repeat(3)]
    public async Task InitializeAsync_SeveralStoresOnNewFileConcurrently_AllSucceedAndMigrateOnce()
    {
        await using var test = new TestStore();
        var stores = Enumerable.Range(0, 4).Select(_ => test.Open()).ToList();

        await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync())));

        using var connection = test.Connect();
        Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM schema_version"), Is.EqualTo(SqliteBuildStore.SchemaVersion));
        Assert.That(await stores[3].GetBuildersAsync(), Is.Empty);
    }

    [Test]
    public async Task ApplyAsync_BeforeInitialize_InitializesFirst()
    {
        await using var test = new TestStore();
        var store = test.Open();

        await store.ApplyAsync(new WriteBatch { Builders = [new StoredBuilder("linux", "Linux builds", ["fast"])] });

        Assert.That((await store.GetBuilderAsync("linux"))?.Tags, Is.EqualTo(new[] { "fast" }));
    }

    [Test]
    public async Task DisposeAsync_ThenUse_ThrowsObjectDisposed()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();

        await store.DisposeAsync();
        await store.DisposeAsync();

        Assert.ThrowsAsync<ObjectDisposedException>(() => store.CreateBuildAsync(TestData.Build()));
        Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetBuildersAsync());
    }
}
