using System.Globalization;
using System.Reflection;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// Applies the embedded, versioned scripts (<c>Migrations/NNNN_name.sql</c>) that a schema lacks, recording each in
/// <c>schema_version</c>. When several hosts start at once on a new database, a transaction-scoped advisory lock
/// (<c>pg_advisory_xact_lock</c>, released by the server at commit, rollback or when the connection dies) lets one
/// migrate while the others wait and then find nothing to do. Stateless apart from the loaded scripts.
/// </summary>
internal static class SchemaMigrator
{
    /// <summary>The first key of the two-key advisory locks BuildStatus takes (the second is the schema's hash).</summary>
    public const int AdvisoryLockClass = 0x42535401; // "BST" 1

    /// <summary>The second key's offset for the retention janitor's lock, so it never collides with the migration lock.</summary>
    public const int JanitorLockClass = 0x42535402;

    private const string ResourcePrefix = "BuildStatus.Storage.Postgres.Migrations.";

    private static readonly Lazy<IReadOnlyList<EmbeddedMigrations.Migration>> AllMigrations = new(() => EmbeddedMigrations.Load(typeof(SchemaMigrator).Assembly, ResourcePrefix));

    /// <summary>Gets the scripts in version order.</summary>
    public static IReadOnlyList<EmbeddedMigrations.Migration> Migrations => AllMigrations.Value;

    /// <summary>Gets the schema version this code creates and understands.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>Brings <paramref name="schema"/> up to <see cref="LatestVersion"/>, or up to <paramref name="targetVersion"/> (for tests).</summary>
    /// <returns>The number of scripts applied.</returns>
    /// <exception cref="BuildStoreException">The schema is newer than this code.</exception>
    public static async Task<int> MigrateAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken, int? targetVersion = null)
    {
        var target = targetVersion ?? LatestVersion;

        // Fast path: an up-to-date schema is recognised without a transaction or a lock.
        if (await ReadVersionAsync(connection, schema, transaction: null, cancellationToken).ConfigureAwait(false) == target)
        {
            return 0;
        }

        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock($1, hashtext($2))", cancellationToken, AdvisoryLockClass, schema).ConfigureAwait(false);
            // CREATE SCHEMA checks the CREATE right on the database even when the schema exists, so it runs only when
            // the schema is missing: a user who owns a schema made for it by an administrator needs no more.
            using (var exists = new NpgsqlCommand($"SELECT to_regnamespace('\"{schema}\"') IS NOT NULL", connection, transaction))
            {
                if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                {
                    await ExecuteAsync(connection, transaction, $"CREATE SCHEMA IF NOT EXISTS \"{schema}\"", cancellationToken).ConfigureAwait(false);
                }
            }

            await ExecuteAsync(connection, transaction, $"SET LOCAL search_path TO \"{schema}\"", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(
                connection,
                transaction,
                "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                cancellationToken).ConfigureAwait(false);
            var current = await ReadVersionAsync(connection, schema, transaction, cancellationToken).ConfigureAwait(false);
            var applied = 0;
            foreach (var migration in Migrations)
            {
                if (migration.Version <= current || migration.Version > target)
                {
                    continue;
                }

                await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "INSERT INTO schema_version (version, name) VALUES ($1, $2)", cancellationToken, migration.Version, migration.Name).ConfigureAwait(false);
                applied++;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return applied;
        }
    }

    /// <summary>Reads the stored version (0 when the schema or its version table is missing) and refuses one newer than this code.</summary>
    public static async Task<int> ReadVersionAsync(NpgsqlConnection connection, string schema, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        // Two statements: a query naming a missing table fails when it is planned, so its existence is checked first.
        using var command = new NpgsqlCommand($"SELECT to_regclass('\"{schema}\".schema_version') IS NOT NULL", connection, transaction);
        var exists = (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        if (!exists)
        {
            return 0;
        }

        command.CommandText = $"SELECT coalesce(max(version), 0) FROM \"{schema}\".schema_version";
        var version = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > LatestVersion)
        {
            throw new BuildStoreException(string.Create(
                CultureInfo.InvariantCulture,
                $"The PostgreSQL schema '{schema}' has BuildStatus schema version {version}, newer than version {LatestVersion} that this BuildStatus.Storage.Postgres understands. Upgrade the package on this host, or use another schema."));
        }

        return version;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params object[] values)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
