using System.IO.Compression;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite;

/// <summary>Options of a <see cref="SqliteBuildStore"/>. Checked by <see cref="Validate"/> when the store is created.</summary>
public sealed class SqliteStorageOptions
{
    /// <summary>The largest <see cref="BusyTimeout"/>.</summary>
    private static readonly TimeSpan MaxBusyTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>
    /// Gets or sets the Microsoft.Data.Sqlite connection string, for example <c>Data Source=builds.db</c>. Required;
    /// it must name a file (not <c>:memory:</c>) that may be written. The file is created when missing. The default
    /// is <see langword="null"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Gets or sets how hard a commit waits for the disk (<c>PRAGMA synchronous</c>). The store runs in WAL mode,
    /// where <see cref="SqliteSynchronous.Normal"/> survives a crash of the process but may roll back the last
    /// commits on a power loss or operating-system crash, and <see cref="SqliteSynchronous.Full"/> survives a power
    /// loss at the cost of a disk flush per commit. The default is <see cref="SqliteSynchronous.Normal"/>.
    /// </summary>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Normal;

    /// <summary>
    /// Gets or sets how long a statement waits for a lock held by another connection (another process, or this
    /// store's writer while a reader checkpoints) before it fails (<c>PRAGMA busy_timeout</c>). The default is 5 seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets the codec for log chunks. A chunk is stored compressed only when that makes it smaller. The
    /// default is <see cref="LogCompression.Brotli"/>.
    /// </summary>
    /// <remarks>
    /// Measured with the <c>Measurements</c> fixture of the store's tests on 2 shared cores (2026-11-28, after the
    /// writer's round-3 speed-ups): 200 chunks of 1,000 80-character build-log lines (timestamps, paths, hex
    /// hashes), 8 chunks per batch, one run each. At <see cref="System.IO.Compression.CompressionLevel.Fastest"/>:
    /// None wrote 2.47 M lines/s and stored 100%; Deflate 2.35 M lines/s, 48%; Gzip 2.78 M lines/s, 48%; Brotli
    /// 1.84 M lines/s, 34%. At <see cref="System.IO.Compression.CompressionLevel.Optimal"/>: Deflate 0.95 M
    /// lines/s, 31%; Brotli 1.02 M lines/s, 31%. Brotli stays the default: its chunks are a third smaller than
    /// Deflate's. It costs about a quarter of the store's own write rate, and in a whole host (workload W1, see
    /// docs/BENCHMARKS.md) the write still reaches the throughput target.
    /// </remarks>
    public LogCompression Compression { get; set; } = LogCompression.Brotli;

    /// <summary>
    /// Gets or sets the compression level of <see cref="Compression"/>. The default is
    /// <see cref="System.IO.Compression.CompressionLevel.Fastest"/>: the writer compresses on the storage path, and
    /// <see cref="System.IO.Compression.CompressionLevel.Optimal"/> saved only 3 more points of size at half or less
    /// of the write throughput (see <see cref="Compression"/>).
    /// </summary>
    public CompressionLevel CompressionLevel { get; set; } = CompressionLevel.Fastest;

    /// <summary>
    /// Gets or sets each connection's page cache in KiB (<c>PRAGMA cache_size</c>). The default is 8,192 (8 MiB);
    /// 0 keeps SQLite's own default (2 MiB).
    /// </summary>
    public int CacheSizeKiB { get; set; } = 8192;

    /// <summary>
    /// Gets or sets how many bytes of the file are memory-mapped (<c>PRAGMA mmap_size</c>), or 0 to read with plain
    /// I/O. Mapping speeds up reads of a large history, but an I/O error then surfaces as a crash instead of an
    /// exception. The default is 0.
    /// </summary>
    public long MmapSizeBytes { get; set; }

    /// <summary>
    /// Gets or sets whether <see cref="SqliteBuildStore.PruneAsync"/> returns the pages it freed to the file system
    /// (as <see cref="SqliteBuildStore.VacuumAsync"/> does) after it deleted anything. Otherwise the file keeps its
    /// size and SQLite reuses the free pages for new history. The default is <see langword="true"/>.
    /// </summary>
    public bool VacuumAfterPrune { get; set; } = true;

    /// <summary>
    /// Gets or sets whether the store keeps an event outbox, so that hosts in other processes on the same file receive
    /// this host's build, step and log events (<see cref="StatusEventFilter.IncludeOtherHosts"/>), and this host theirs.
    /// Set it on every process that shares the file. Each batch then also writes its events (a few small rows per build
    /// step), and other processes see them within <see cref="BuildStatusOptions.OtherHostsPollInterval"/> (SQLite has no
    /// notifications between processes). The default is <see langword="false"/>: one process needs none of it.
    /// </summary>
    public bool ShareEvents { get; set; }

    /// <summary>
    /// Gets or sets how many events the outbox keeps (with <see cref="ShareEvents"/>); older ones are deleted, and a
    /// process that had not read them is told it missed some (<see cref="EventsMissed"/>). The default is 100,000.
    /// </summary>
    public long MaxEvents { get; set; } = 100_000;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException"><see cref="ConnectionString"/> is missing, cannot be parsed, names an
    /// in-memory database, or opens the file read-only.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An enum value is undefined, <see cref="BusyTimeout"/> is negative or
    /// longer than <see cref="int.MaxValue"/> milliseconds, or a size is negative.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("SqliteStorageOptions.ConnectionString is required, for example \"Data Source=builds.db\".", nameof(ConnectionString));
        }

        SqliteConnectionStringBuilder parsed;
        try
        {
            parsed = new SqliteConnectionStringBuilder(ConnectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"SqliteStorageOptions.ConnectionString cannot be parsed: {e.Message}", nameof(ConnectionString), e);
        }

        if (string.IsNullOrWhiteSpace(parsed.DataSource) || parsed.DataSource == ":memory:" || parsed.Mode == SqliteOpenMode.Memory)
        {
            throw new ArgumentException(
                "SqliteStorageOptions.ConnectionString must name a database file (\"Data Source=builds.db\"); the store opens several connections, which cannot share an in-memory database. Use UseInMemoryStorage for history that need not outlive the process.",
                nameof(ConnectionString));
        }

        if (parsed.Mode == SqliteOpenMode.ReadOnly)
        {
            throw new ArgumentException("SqliteStorageOptions.ConnectionString must not use Mode=ReadOnly: the store writes history.", nameof(ConnectionString));
        }

        if (!Enum.IsDefined(Synchronous))
        {
            throw new ArgumentOutOfRangeException(nameof(Synchronous), Synchronous, "Synchronous must be Off, Normal, Full or Extra.");
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > MaxBusyTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, $"BusyTimeout must be between 0 and {MaxBusyTimeout}.");
        }

        if (!Enum.IsDefined(Compression))
        {
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, "Compression must be None, Deflate, Gzip or Brotli.");
        }

        if (!Enum.IsDefined(CompressionLevel))
        {
            throw new ArgumentOutOfRangeException(nameof(CompressionLevel), CompressionLevel, "CompressionLevel must be Optimal, Fastest, NoCompression or SmallestSize.");
        }

        if (CacheSizeKiB < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CacheSizeKiB), CacheSizeKiB, "CacheSizeKiB must not be negative (0 keeps SQLite's default).");
        }

        if (MaxEvents < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEvents), MaxEvents, "MaxEvents must be at least 1.");
        }

        if (MmapSizeBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MmapSizeBytes), MmapSizeBytes, "MmapSizeBytes must not be negative (0 turns memory mapping off).");
        }
    }

    /// <summary>Returns a copy, so a store is not affected by later changes to the options it was created from.</summary>
    internal SqliteStorageOptions Clone() => (SqliteStorageOptions)MemberwiseClone();
}
