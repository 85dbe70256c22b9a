using System.Globalization;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>Opens the store's connections with its pragmas. Immutable after construction, so safe from any thread.</summary>
internal sealed class SqliteConnectionFactory
{
    /// <summary>The size the writer cuts the WAL file back to when it restarts the WAL (4 MiB, SQLite's autocheckpoint size).</summary>
    public const long JournalSizeLimitBytes = 4 * 1024 * 1024;

    private readonly string _writerConnectionString;
    private readonly string _pragmas;

    public SqliteConnectionFactory(SqliteStorageOptions options)
    {
        var timeoutMs = (long)options.BusyTimeout.TotalMilliseconds;
        var builder = new SqliteConnectionStringBuilder(options.ConnectionString)
        {
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,

            // Microsoft.Data.Sqlite also retries SQLITE_BUSY in managed code until this many seconds pass.
            DefaultTimeout = (int)Math.Min(int.MaxValue, Math.Ceiling(options.BusyTimeout.TotalSeconds)),
            Pooling = true,
        };
        ReaderConnectionString = builder.ToString();

        // The writer lives as long as the store; not pooling it means disposing the store closes the file.
        builder.Pooling = false;
        _writerConnectionString = builder.ToString();

        var synchronous = options.Synchronous.ToString().ToUpperInvariant();
        var cache = options.CacheSizeKiB == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"PRAGMA cache_size = -{options.CacheSizeKiB};");
        _pragmas = string.Create(
            CultureInfo.InvariantCulture,
            $"PRAGMA busy_timeout = {timeoutMs}; PRAGMA synchronous = {synchronous}; PRAGMA mmap_size = {options.MmapSizeBytes}; {cache}");
    }

    /// <summary>Gets the connection string of pooled reader connections (also the key of their pool).</summary>
    public string ReaderConnectionString { get; }

    /// <summary>
    /// Opens the writer connection: incremental auto-vacuum (takes effect only while the file has no tables),
    /// WAL journal mode (persistent in the file), the per-connection pragmas and the WAL size limit.
    /// </summary>
    public SqliteConnection OpenWriter()
    {
        var connection = new SqliteConnection(_writerConnectionString);
        try
        {
            connection.Open();
            Execute(connection, _pragmas);
            Execute(connection, "PRAGMA auto_vacuum = INCREMENTAL;");
            Execute(connection, "PRAGMA journal_mode = WAL;");

            // When a checkpoint has copied the whole WAL, the next write starts it over and cuts the file back to this.
            Execute(connection, $"PRAGMA journal_size_limit = {JournalSizeLimitBytes};");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Opens (or takes from the pool) a reader connection. Pooled connections keep their pragmas, but setting them again is cheap.</summary>
    public SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(ReaderConnectionString);
        try
        {
            connection.Open();
            Execute(connection, _pragmas);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // Built only from validated option values, never from user text.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.ExecuteNonQuery();
    }
}
