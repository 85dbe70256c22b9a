using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
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
        });
    }

    [TestCase(null, "ConnectionString is required")]
    [TestCase("Data Source=:memory:", "must name a database file")]
    [TestCase("Data Source=x.db;Mode=ReadOnly", "Mode=ReadOnly")]
    public async Task UseSqlite_InvalidOptions_RegisterThenThrowOptionsValidationExceptionAtStart(string? connectionString, string message)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseSqlite(o => o.ConnectionString = connectionString));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Multiple(() =>
        {
            Assert.That(error!.OptionsType, Is.EqualTo(typeof(SqliteStorageOptions)));
            Assert.That(error.Failures.Single(), Does.Contain(message).And.Contain("ConnectionString"));
            Assert.That(() => host.StartBuildAsync("b"), Throws.InvalidOperationException, "the host did not start");
        });
    }

    [Test]
    public void UseSqlite_InvalidOptionsUnderTheGenericHost_FailHostStartWithOptionsValidationException()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddBuildStatus(b => b.UseSqlite(o => o.Synchronous = SqliteSynchronous.Full));
        using var host = builder.Build();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(error!.Failures.Single(), Does.Contain("ConnectionString is required"));
    }
}
