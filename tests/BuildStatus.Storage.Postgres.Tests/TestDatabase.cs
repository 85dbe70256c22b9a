using System.Security.Cryptography;
using System.Text;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// A database of the run's server for one fixture, created on first use; stores on it take a schema each. With a shared
/// key, a child process of the run (the conformance suite's fresh-process check) opens the same database: its
/// connection string travels in an environment variable the child inherits.
/// </summary>
internal sealed class TestDatabase
{
    private readonly Lazy<Task<string>> _connectionString;

    public TestDatabase(string? sharedKey = null)
    {
        _connectionString = new(async () =>
        {
            var variable = sharedKey is null ? null : "BUILDSTATUS_POSTGRES_TEST_DB_" + sharedKey;
            if (variable is not null && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } inherited)
            {
                return inherited;
            }

            var created = await PostgresServer.Instance.CreateDatabaseAsync();
            if (variable is not null)
            {
                Environment.SetEnvironmentVariable(variable, created);
            }

            return created;
        });
    }

    /// <summary>Gets the superuser connection string to the fixture's database.</summary>
    public string ConnectionString => _connectionString.Value.GetAwaiter().GetResult();

    /// <summary>Gets the fixture's database name.</summary>
    public string Name => new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString).Database!;

    /// <summary>A schema name of its own for a test directory (stable, so two stores on one directory share it).</summary>
    public static string SchemaFor(string directory) =>
        "t_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(directory)))[..24];

    /// <summary>Options for a store on the fixture's database in <paramref name="schema"/>.</summary>
    public PostgresStorageOptions Options(string schema) => new() { ConnectionString = ConnectionString, Schema = schema, StartTimeout = TimeSpan.FromSeconds(60) };
}
