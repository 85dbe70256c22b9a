using System.Globalization;
using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// Applies the embedded, versioned scripts (<c>Migrations/NNNN_name.sql</c>) that a database lacks, recording each
/// in <c>schema_version</c>. Stateless; the caller holds the writer lock.
/// </summary>
internal static class SchemaMigrator
{
    private const string ResourcePrefix = "BuildStatus.Storage.Sqlite.Migrations.";

    private static readonly Lazy<IReadOnlyList<EmbeddedMigrations.Migration>> AllMigrations = new(() => EmbeddedMigrations.Load(typeof(SchemaMigrator).Assembly, ResourcePrefix));

    /// <summary>Gets the scripts in version order.</summary>
    public static IReadOnlyList<EmbeddedMigrations.Migration> Migrations => AllMigrations.Value;

    /// <summary>Gets the schema version this code creates and understands.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>
    /// Brings the schema up to <see cref="LatestVersion"/>. Up-to-date databases are recognised without taking the
    /// write lock; otherwise the check is repeated inside <c>BEGIN IMMEDIATE</c>, so when two processes start on a
    /// new file at once one migrates and the other then finds nothing to do.
    /// </summary>
    /// <remarks>
    /// Scripts run with foreign key enforcement off, as SQLite's procedure for rebuilding a table requires (a
    /// <c>DROP TABLE</c> with it on deletes the rows that refer to the table first); <c>PRAGMA foreign_key_check</c>
    /// then proves every reference still holds before the transaction commits, and enforcement is restored after it,
    /// whatever happens. The pragma cannot change inside a transaction, hence outside it.
    /// </remarks>
    /// <returns>The number of scripts applied.</returns>
    /// <exception cref="BuildStoreException">The stored schema is newer than this code, or a script left a broken reference.</exception>
    public static int Migrate(SqliteConnection connection) => Migrate(connection, LatestVersion);

    /// <summary>Brings the schema up to <paramref name="targetVersion"/> (tests use it to write a file as an earlier version did).</summary>
    /// <returns>The number of scripts applied.</returns>
    /// <exception cref="BuildStoreException">The stored schema is newer than this code, or a script left a broken reference.</exception>
    internal static int Migrate(SqliteConnection connection, int targetVersion)
    {
        if (ReadVersion(connection, transaction: null) >= targetVersion)
        {
            return 0;
        }

        var enforced = connection.ExecuteScalar<long>("PRAGMA foreign_keys;") != 0;
        connection.Execute("PRAGMA foreign_keys = OFF;");
        try
        {
            return MigrateWithoutForeignKeys(connection, targetVersion);
        }
        finally
        {
            if (enforced)
            {
                connection.Execute("PRAGMA foreign_keys = ON;");
            }
        }
    }

    private static int MigrateWithoutForeignKeys(SqliteConnection connection, int targetVersion)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        connection.Execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;",
            transaction: transaction);
        var current = ReadVersion(connection, transaction);
        var applied = 0;
        foreach (var migration in Migrations)
        {
            if (migration.Version <= current || migration.Version > targetVersion)
            {
                continue;
            }

            connection.Execute(migration.Sql, transaction: transaction);
            connection.Execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));",
                new { migration.Version, migration.Name },
                transaction);
            applied++;
        }

        var broken = connection.ExecuteScalar<long>("SELECT count(*) FROM pragma_foreign_key_check;", transaction: transaction);
        if (broken != 0)
        {
            throw new BuildStoreException(string.Create(
                CultureInfo.InvariantCulture,
                $"Migrating the SQLite database to schema version {targetVersion} would leave {broken} rows whose foreign key refers to no row (rows the file already held, or a defect of the migration); nothing was changed."));
        }

        transaction.Commit();
        return applied;
    }

    /// <summary>Reads the stored version (0 for a new file) and refuses one newer than this code.</summary>
    private static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var hasTable = connection.ExecuteScalar<long>(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';",
            transaction: transaction) != 0;
        var version = hasTable
            ? connection.ExecuteScalar<int?>("SELECT max(version) FROM schema_version;", transaction: transaction) ?? 0
            : 0;
        if (version > LatestVersion)
        {
            throw new BuildStoreException(string.Create(
                CultureInfo.InvariantCulture,
                $"The SQLite database has schema version {version}, newer than version {LatestVersion} that this BuildStatus.Storage.Sqlite understands. Upgrade the package, or use another database file."));
        }

        return version;
    }
}
