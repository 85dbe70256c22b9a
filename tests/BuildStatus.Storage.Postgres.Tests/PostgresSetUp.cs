namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>Starts the run's one PostgreSQL server before any fixture of this assembly and removes it after the last.</summary>
[SetUpFixture]
public sealed class PostgresSetUp
{
    internal static PostgresServer? Server { get; private set; }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        // Needs PostgreSQL's server programs (or BUILDSTATUS_POSTGRES); .ci/run installs them. Outside CI, a machine with
        // only the .NET SDK skips these tests.
        if (!PostgresServer.IsAvailable)
        {
            const string Missing = "PostgreSQL's initdb and pg_ctl were not found (PATH, /usr/lib/postgresql/*/bin) and BUILDSTATUS_POSTGRES is not set: apt-get install -y postgresql (.ci/run does).";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(Missing);
            }

            Assert.Ignore(Missing);
        }

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
