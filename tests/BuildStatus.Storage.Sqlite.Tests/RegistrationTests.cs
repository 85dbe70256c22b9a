using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class RegistrationTests
{
    [Test]
    public async Task UseSqlite_ConnectionString_RegistersAWorkingSqliteStore()
    {
        await using var test = new TestStore();
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseSqlite(test.ConnectionString));

        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IBuildStore>();
        await store.InitializeAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(store, Is.TypeOf<SqliteBuildStore>());
            Assert.That(provider.GetRequiredService<IBuildStore>(), Is.SameAs(store));
            Assert.That(await store.CreateBuildAsync(TestData.Build()), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task UseSqlite_Configure_AppliesTheOptions()
    {
        await using var test = new TestStore();
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseSqlite(o =>
        {
            o.ConnectionString = test.ConnectionString;
            o.Compression = LogCompression.None;
        }));

        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IBuildStore>();
        var log = await TestData.CreateLogAsync(store);
        await store.ApplyAsync(new WriteBatch { LogChunks = TestData.Chunks(log, 0, 100, 100, TestData.CompilerLine) });

        using var connection = test.Connect();
        Assert.That(TestData.Scalar(connection, "SELECT codec FROM log_chunks"), Is.EqualTo((long)LogCompression.None));
    }

    [Test]
    public void UseSqlite_InvalidArguments_ThrowAtRegistration()
    {
        var services = new ServiceCollection();

        Assert.Multiple(() =>
        {
            Assert.That(() => SqliteBuildStatusBuilderExtensions.UseSqlite(null!, "Data Source=x.db"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("builder"));
            Assert.That(() => SqliteBuildStatusBuilderExtensions.UseSqlite(null!, _ => { }), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("builder"));
            Assert.That(() => services.AddBuildStatus(b => b.UseSqlite(string.Empty)), Throws.ArgumentException.With.Property("ParamName").EqualTo("connectionString"));
            Assert.That(() => services.AddBuildStatus(b => b.UseSqlite((Action<SqliteStorageOptions>)null!)), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("configure"));
            Assert.That(() => services.AddBuildStatus(b => b.UseSqlite(o => o.ConnectionString = "Data Source=:memory:")), Throws.ArgumentException.With.Property("ParamName").EqualTo("ConnectionString"));
        });
    }
}
