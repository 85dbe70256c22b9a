namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>Starts the run's one PostgreSQL server before any fixture of this assembly and removes it after the last.</summary>
[SetUpFixture]
public sealed class PostgresSetUp
{
    internal static PostgresServer? Server { get; private set; }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Server = await PostgresServer.StartAsync();
        Environment.SetEnvironmentVariable(PostgresServer.ParentVariable, Server.AdminConnectionString);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        Server?.Stop();
        Server = null;
        Environment.SetEnvironmentVariable(PostgresServer.ParentVariable, null);
    }
}
