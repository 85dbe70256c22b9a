using System.IO.Compression;
using System.Text.RegularExpressions;
using Npgsql;

namespace BuildStatus.Storage.Postgres;

/// <summary>Options of a <see cref="PostgresBuildStore"/>. Checked by <see cref="Validate"/> when the store is created.</summary>
public sealed partial class PostgresStorageOptions
{
    /// <summary>
    /// Gets or sets the Npgsql connection string, for example
    /// <c>Host=db.example.org;Database=buildstatus;Username=ci;Password=...</c>. The store builds its own
    /// <see cref="NpgsqlDataSource"/> from it, with a pool of at most <see cref="MaxConnections"/> connections, and
    /// disposes it with the store. Set this or <see cref="DataSource"/>; when neither is set, <c>UsePostgres</c> takes
    /// the <see cref="NpgsqlDataSource"/> registered in the service container. The default is <see langword="null"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Gets or sets a data source to use instead of <see cref="ConnectionString"/>. The store does not dispose it,
    /// and its pool settings are the caller's (<see cref="MaxConnections"/> does not apply). The default is
    /// <see langword="null"/>.
    /// </summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>
    /// Gets or sets the PostgreSQL schema that holds the tables; created by the first start when missing. A lower-case
    /// identifier: letters, digits and <c>_</c>, starting with a letter or <c>_</c>, at most 63 characters. Several
    /// independent histories may share one database under different schemas. The default is <c>buildstatus</c>.
    /// </summary>
    public string Schema { get; set; } = "buildstatus";

    /// <summary>
    /// Gets or sets the most connections the store opens when it builds its data source from
    /// <see cref="ConnectionString"/> (Npgsql's <c>Maximum Pool Size</c>, which this replaces). The store holds a
    /// connection only while a call runs: one for a batch (the host's single writer), one per build start and per read
    /// in progress, one while pruning; none while idle. Calls beyond the limit wait for a free connection (up to the
    /// connection string's <c>Timeout</c>). Between 1 and 1,000. The default is 8.
    /// </summary>
    public int MaxConnections { get; set; } = 8;

    /// <summary>
    /// Gets or sets how long the first use of the store (the host's start) keeps trying to reach a server that does
    /// not answer or is starting up, with growing pauses between attempts, before it fails with an error naming the
    /// host, port and database. Errors retrying cannot fix (a wrong password, a missing database, no right to create
    /// the schema) fail at once. Zero tries once. The default is 30 seconds.
    /// </summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the codec for log chunks, applied by the store (in <see cref="PostgresBuildStore.PrepareAsync"/>,
    /// ahead of the transaction) before the chunk reaches the server; a chunk is stored compressed only when that makes
    /// it smaller. The default is <see cref="PostgresLogCompression.Brotli"/>.
    /// </summary>
    public PostgresLogCompression Compression { get; set; } = PostgresLogCompression.Brotli;

    /// <summary>
    /// Gets or sets the compression level of <see cref="Compression"/>. The default is
    /// <see cref="System.IO.Compression.CompressionLevel.Fastest"/>.
    /// </summary>
    public CompressionLevel CompressionLevel { get; set; } = CompressionLevel.Fastest;

    /// <summary>
    /// Gets or sets a connection string for the store's one <c>LISTEN</c> connection (other hosts' events), or
    /// <see langword="null"/> to take that connection from the store's own pool. Set it when the main connection goes
    /// through a pooler in transaction mode (PgBouncer's <c>pool_mode = transaction</c>), which cannot carry
    /// <c>LISTEN</c>: point it at the server itself or at a session-mode pool, for example
    /// <c>"Host=db.internal;Port=5432;Database=ci;Username=ci;Password=…;Keepalive=15"</c>. The default is
    /// <see langword="null"/>.
    /// </summary>
    public string? ListenConnectionString { get; set; }

    /// <summary>
    /// Gets or sets whether the store keeps the event outbox, so that hosts on this database receive each other's
    /// build, step and log events (<see cref="StatusEventFilter.IncludeOtherHosts"/>). Each batch then also writes its
    /// events and takes the outbox's lock for its commit: 3–21 % (median 12 %) of W1's throughput at one build in flight in the
    /// benchmarks. Turn it off on every host when no subscriber needs other hosts' events. The default is
    /// <see langword="true"/>.
    /// </summary>
    public bool ShareEvents { get; set; } = true;

    /// <summary>
    /// Gets or sets how long the event outbox keeps events for other hosts to read; a host that could not read them in
    /// that time (an outage longer than this) is told it missed some (<see cref="EventsMissed"/>). The default is 1 hour.
    /// </summary>
    public TimeSpan EventRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Gets or sets whether instance times (registration, heartbeats, lease expiry, stop and recovery) come from the
    /// <c>now</c> that Core passes instead of the server's clock. Only for the conformance suite, whose lease cases run on
    /// fixed instants (T0, T0 + 60 s, ...); a store in a host always uses the server's <c>statement_timestamp()</c>, so
    /// hosts with skewed clocks agree on every lease. The statements are the same either way: this only decides whether
    /// the caller's time is sent to them. The default is <see langword="false"/>.
    /// </summary>
    internal bool InstanceTimesFromCaller { get; set; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">Neither or both of <see cref="ConnectionString"/> and <see cref="DataSource"/>
    /// are set, a connection string cannot be parsed, or <see cref="Schema"/> is not a lower-case identifier. The
    /// message never contains the password.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MaxConnections"/> is outside 1..1000,
    /// <see cref="StartTimeout"/> is negative, <see cref="EventRetention"/> is not positive, or an enum value is undefined.</exception>
    public void Validate()
    {
        var hasString = !string.IsNullOrWhiteSpace(ConnectionString);
        if (hasString == (DataSource is not null))
        {
            throw new ArgumentException(
                hasString
                    ? "Set PostgresStorageOptions.ConnectionString or PostgresStorageOptions.DataSource, not both."
                    : "PostgresStorageOptions.ConnectionString is required (for example \"Host=localhost;Database=buildstatus;Username=ci\"), or set DataSource, or register an NpgsqlDataSource in the service container and call UsePostgres().",
                nameof(ConnectionString));
        }

        if (hasString)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(ConnectionString);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or InvalidCastException)
            {
                // Npgsql's message names the keyword, never its value, so no password can leak through it.
                throw new ArgumentException($"PostgresStorageOptions.ConnectionString cannot be parsed: {e.Message}", nameof(ConnectionString));
            }
        }

        if (Schema is null || !SchemaPattern().IsMatch(Schema))
        {
            throw new ArgumentException(
                $"PostgresStorageOptions.Schema '{Schema}' is not a lower-case identifier (letters a-z, digits and '_', starting with a letter or '_', at most 63 characters).",
                nameof(Schema));
        }

        if (MaxConnections is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "MaxConnections must be between 1 and 1000.");
        }

        if (StartTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(StartTimeout), StartTimeout, "StartTimeout must not be negative.");
        }

        if (ListenConnectionString is not null)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(ListenConnectionString);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or InvalidCastException)
            {
                throw new ArgumentException($"PostgresStorageOptions.ListenConnectionString cannot be parsed: {e.Message}", nameof(ListenConnectionString));
            }
        }

        if (EventRetention <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(EventRetention), EventRetention, "EventRetention must be positive.");
        }

        if (!Enum.IsDefined(Compression))
        {
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, "Compression must be None, Deflate, Gzip or Brotli.");
        }

        if (!Enum.IsDefined(CompressionLevel))
        {
            throw new ArgumentOutOfRangeException(nameof(CompressionLevel), CompressionLevel, "CompressionLevel must be Optimal, Fastest, NoCompression or SmallestSize.");
        }
    }

    /// <summary>Returns a copy, so a store is not affected by later changes to the options it was created from.</summary>
    internal PostgresStorageOptions Clone() => (PostgresStorageOptions)MemberwiseClone();

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaPattern();
}
