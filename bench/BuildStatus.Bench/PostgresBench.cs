using BuildStatus.Storage.Postgres;
using Npgsql;

namespace BuildStatus.Bench;

/// <summary>The runner's PostgreSQL plumbing: a schema per run on the given server, its store, its figures, its removal.</summary>
internal static class PostgresBench
{
    public static string NewSchema(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 25, 63)];

    public static PostgresBuildStore CreateStore(WorkloadOptions options, string schema) => new(new PostgresStorageOptions
    {
        ConnectionString = options.PostgresConnectionString,
        Schema = schema,
        Compression = Codec(options),
        ShareEvents = options.ShareEvents,
    });

    public static PostgresLogCompression Codec(WorkloadOptions options) => Enum.Parse<PostgresLogCompression>(options.Compression.ToString());

    public static async Task<(long Chunks, long Lines)> CountChunksAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*), coalesce(sum(last_line - first_line + 1), 0)::bigint FROM \"{schema}\".log_chunks", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The bytes of the schema's tables with their indexes and TOAST.</summary>
    public static async Task<long> SchemaBytesAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = schema });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public static async Task DropSchemaAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        await command.ExecuteNonQueryAsync();
    }
}
