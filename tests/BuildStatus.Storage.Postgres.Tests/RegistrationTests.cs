using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

public sealed class RegistrationTests
{
    private static readonly TestDatabase Database = new();

    private static string NewSchema() => "g_" + Guid.NewGuid().ToString("N")[..20];

    private static async Task<int> RunOneBuildAsync(IServiceProvider provider)
    {
        var host = provider.GetRequiredService<IBuildStatusHost>();
        await host.StartAsync();
        host.AddBuilder("linux");
        var build = await host.StartBuildAsync("linux");
        await build.FinishAsync(BuildResult.Success);
        await host.StopAsync();
        return build.Number;
    }

    [Test]
    public async Task UsePostgres_ConnectionString_HostStoresItsBuilds()
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UsePostgres(Database.ConnectionString));
        await using var provider = services.BuildServiceProvider();

        var number = await RunOneBuildAsync(provider);

        var store = provider.GetRequiredService<IBuildStore>();
        Assert.That(store, Is.TypeOf<PostgresBuildStore>());
        Assert.That((await store.GetBuildAsync(new BuildKey("linux", number)))!.Result, Is.EqualTo(BuildResult.Success));
    }

    [Test]
    public async Task UsePostgres_Configure_AppliesTheOptions()
    {
        var schema = NewSchema();
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UsePostgres(o =>
        {
            o.ConnectionString = Database.ConnectionString;
            o.Schema = schema;
            o.Compression = PostgresLogCompression.None;
        }));
        await using var provider = services.BuildServiceProvider();

        await RunOneBuildAsync(provider);

        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {schema}.builds", connection);
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo(1L));
    }

    [Test]
    public async Task UsePostgres_DataSourceInContainer_UsesItAndLeavesItOpen()
    {
        var schema = NewSchema();
        await using var dataSource = NpgsqlDataSource.Create(Database.ConnectionString);
        var services = new ServiceCollection();
        services.AddSingleton(dataSource);
        services.AddBuildStatus(b => b.UsePostgres(o => o.Schema = schema));
        await using (var provider = services.BuildServiceProvider())
        {
            await RunOneBuildAsync(provider);
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {schema}.builds", connection);
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo(1L), "the container's data source was used and is still usable");
    }

    [Test]
    public async Task UsePostgres_NoConnectionAnywhere_ThrowsOptionsValidationExceptionAtStart()
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UsePostgres());
        await using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => provider.GetRequiredService<IBuildStatusHost>().StartAsync());

        Assert.That(error!.Message, Does.Contain("NpgsqlDataSource"));
    }

    [TestCase("Bad-Schema", "Schema")]
    [TestCase("1abc", "Schema")]
    public async Task UsePostgres_InvalidSchema_ThrowsOptionsValidationExceptionAtStart(string schema, string message)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UsePostgres(o =>
        {
            o.ConnectionString = Database.ConnectionString;
            o.Schema = schema;
        }));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => provider.GetRequiredService<IBuildStatusHost>().StartAsync());

        Assert.That(error!.Message, Does.Contain(message).And.Contain(schema));
    }

    [Test]
    public void Options_OutOfRange_ThrowWithParamName()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new PostgresStorageOptions { ConnectionString = "Host=x", MaxConnections = 0 }.Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("MaxConnections"));
            Assert.That(() => new PostgresStorageOptions { ConnectionString = "Host=x", StartTimeout = TimeSpan.FromSeconds(-1) }.Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("StartTimeout"));
            Assert.That(() => new PostgresStorageOptions { ConnectionString = "Host=x", Compression = (PostgresLogCompression)9 }.Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("Compression"));
            Assert.That(() => new PostgresStorageOptions().Validate(), Throws.ArgumentException.With.Property("ParamName").EqualTo("ConnectionString"));
        });
    }

    [Test]
    public void UsePostgres_InvalidArguments_ThrowAtRegistration()
    {
        var services = new ServiceCollection();
        Assert.Multiple(() =>
        {
            Assert.That(() => PostgresBuildStatusBuilderExtensions.UsePostgres(null!, "Host=x"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("builder"));
            Assert.That(() => services.AddBuildStatus(b => b.UsePostgres(string.Empty)), Throws.ArgumentException.With.Property("ParamName").EqualTo("connectionString"));
            Assert.That(() => services.AddBuildStatus(b => b.UsePostgres((Action<PostgresStorageOptions>)null!)), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("configure"));
        });
    }

    [Test]
    public async Task ReadmeClusterHost_AsWritten_StartsAsAnInstanceWithTheLease()
    {
        // The README's "Several hosts on PostgreSQL" registration, with the test database in place of db.example.org.
        var connectionString = Database.ConnectionString;
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b
            .UsePostgres(connectionString)
            .Configure(o =>
            {
                o.HostName = "ci-1";                            // "ci-2", "ci-3" on the other hosts
                o.HeartbeatInterval = TimeSpan.FromSeconds(2);  // default 10 s
                o.LeaseDuration = TimeSpan.FromSeconds(6);      // default 30 s; a dead host's builds are Retry within ~8 s
            }));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();

        await host.StartAsync();
        try
        {
            var me = host.Instances.Single(i => i.Id == host.InstanceId);
            Assert.That((me.HostName, me.ExpiresAt - me.HeartbeatAt), Is.EqualTo(("ci-1", TimeSpan.FromSeconds(6))));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
