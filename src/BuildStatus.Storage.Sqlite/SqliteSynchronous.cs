namespace BuildStatus.Storage.Sqlite;

/// <summary>
/// SQLite's <c>PRAGMA synchronous</c> setting: how hard a commit waits for the disk. The store always runs in WAL
/// journal mode, where the trade-off is as described on each value.
/// </summary>
public enum SqliteSynchronous
{
    /// <summary>
    /// Never waits for the disk. A commit survives a crash of the process but a power loss or operating-system
    /// crash may lose recent commits or corrupt the database. For throw-away history only.
    /// </summary>
    Off = 0,

    /// <summary>
    /// Waits for the disk only at WAL checkpoints. The database never corrupts; a commit survives a crash of the
    /// process, but the last commits before a power loss or operating-system crash may roll back.
    /// </summary>
    Normal = 1,

    /// <summary>Waits for the disk on every commit, so a commit survives a power loss too. Slower commits.</summary>
    Full = 2,

    /// <summary>Like <see cref="Full"/>, and also syncs the directory after the WAL is reset. Slowest.</summary>
    Extra = 3,
}
