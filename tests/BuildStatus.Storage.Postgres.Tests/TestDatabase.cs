using System.Security.Cryptography;
using System.Text;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>A database of the run's server for one fixture, created on first use; stores on it take a schema each.</summary>
internal sealed class TestDatabase
{
    private readonly Lazy<Task<string>> _connectionString = new(() => PostgresServer.Instance.CreateDatabaseAsync());

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
