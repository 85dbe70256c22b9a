using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>Bad configuration fails the start with a message that names host, port and database, never the password.</summary>
public sealed class StartErrorTests
{
    private const string Secret = "s3cret-Pa55word-never-shown";
    private static readonly TestDatabase Database = new();

    private static string ConnectionString(string user, string password, string? database = null, int? port = null) =>
        new NpgsqlConnectionStringBuilder(Database.ConnectionString)
        {
            Username = user,
            Password = password,
            Database = database ?? Database.Name,
            Port = port ?? PostgresServer.Instance.Port,
            Timeout = 5,
        }.ConnectionString;

    private static async Task<string> CreateRoleAsync()
    {
        var role = "r_" + Guid.NewGuid().ToString("N")[..12];
        await PostgresServer.Instance.ExecuteAdminAsync($"CREATE ROLE {role} LOGIN PASSWORD '{Secret}'");
        return role;
    }

    private static BuildStoreException StartFails(string connectionString, TimeSpan? startTimeout = null)
    {
        var store = new PostgresBuildStore(new PostgresStorageOptions { ConnectionString = connectionString, StartTimeout = startTimeout ?? TimeSpan.FromSeconds(30) });
        try
        {
            return Assert.ThrowsAsync<BuildStoreException>(() => store.InitializeAsync())!;
        }
        finally
        {
            store.Dispose();
        }
    }

    private static void AssertNamesTarget(Exception error, string database, int? port = null)
    {
        var all = error.ToString();
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("127.0.0.1:" + (port ?? PostgresServer.Instance.Port).ToString(CultureInfo.InvariantCulture)));
            Assert.That(error.Message, Does.Contain($"database '{database}'"));
            Assert.That(all, Does.Not.Contain(Secret), "the password never appears, not even in inner exceptions");
        });
    }

    [Test]
    public async Task InitializeAsync_WrongPassword_FailsAtOnceNamingTheTarget()
    {
        var role = await CreateRoleAsync();

        var error = StartFails(ConnectionString(role, "wrong-" + Secret));

        AssertNamesTarget(error, Database.Name);
        Assert.That(error.Message, Does.Contain("refused the login").And.Contain(role));
    }

    [Test]
    public void InitializeAsync_MissingDatabase_FailsSayingItDoesNotExist()
    {
        var error = StartFails(ConnectionString("postgres", PostgresServer.SuperuserPassword, database: "no_such_db_here"));

        AssertNamesTarget(error, "no_such_db_here");
        Assert.That(error.Message, Does.Contain("does not exist").And.Contain("CREATE DATABASE"));
    }

    [Test]
    public async Task InitializeAsync_UserWithoutCreateRight_FailsSayingWhatToGrant()
    {
        var role = await CreateRoleAsync();

        var error = StartFails(ConnectionString(role, Secret));

        AssertNamesTarget(error, Database.Name);
        Assert.That(error.Message, Does.Contain("may not create").And.Contain("GRANT CREATE ON DATABASE").And.Contain("buildstatus"));
    }

    [Test]
    public async Task InitializeAsync_UserOwningASchemaAnAdministratorMade_MigratesItWithoutTheDatabaseRight()
    {
        var role = await CreateRoleAsync();
        var schema = "s_" + role;
        await PostgresServer.Instance.ExecuteAdminAsync($"CREATE SCHEMA {schema} AUTHORIZATION {role}", Database.Name);
        await using var store = new PostgresBuildStore(new PostgresStorageOptions { ConnectionString = ConnectionString(role, Secret), Schema = schema });

        await store.InitializeAsync();

        Assert.That(await store.CreateBuildAsync(TestData.Build()), Is.EqualTo(1));
    }

    [Test]
    public void InitializeAsync_NothingListening_RetriesUntilStartTimeoutThenNamesTheTarget()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var error = StartFails(ConnectionString("postgres", Secret, port: port), TimeSpan.FromSeconds(1.5));

        AssertNamesTarget(error, Database.Name, port);
        Assert.That(error.Message, Does.Contain("Cannot reach").And.Match(@"after [2-9]\d* attempt"));
    }

    [Test]
    public async Task StartAsync_UnparsableConnectionString_ThrowsOptionsValidationExceptionWithoutThePassword()
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UsePostgres($"Host=localhost;Password={Secret};Port=not-a-number"));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Multiple(() =>
        {
            Assert.That(error!.OptionsType, Is.EqualTo(typeof(PostgresStorageOptions)));
            Assert.That(error.Message, Does.Contain("ConnectionString cannot be parsed"));
            Assert.That(error.ToString(), Does.Not.Contain(Secret));
        });
    }
}
