using BuildStatus.Storage.Sqlite;

namespace BuildStatus.Bench;

/// <summary>What the runner's flags select. Defaults are workload W1 as the benchmark issue defines it.</summary>
public sealed class WorkloadOptions
{
    /// <summary>Gets or sets the number of builds (round-robin over 10 builders). The default is 2,000.</summary>
    public int Builds { get; set; } = 2000;

    /// <summary>Gets or sets the store: "sqlite" (default), "memory" or "null" (discards writes).</summary>
    public string Store { get; set; } = "sqlite";

    /// <summary>
    /// Gets or sets the PostgreSQL connection string for <c>--store postgres</c> (<c>--pg</c>, else the
    /// <c>BUILDSTATUS_POSTGRES</c> environment variable). Each run works in a fresh schema of its own, dropped afterwards.
    /// </summary>
    public string? PostgresConnectionString { get; set; } = Environment.GetEnvironmentVariable("BUILDSTATUS_POSTGRES");

    /// <summary>
    /// Gets or sets a PostgreSQL schema that several runner processes share (<c>--shared-schema</c>): created when
    /// missing, never dropped, and the checks that assume this process wrote every build of a builder are left out.
    /// <see langword="null"/> (default) gives each run a fresh schema of its own.
    /// </summary>
    public string? SharedSchema { get; set; }

    /// <summary>Gets or sets whether the PostgreSQL store keeps its event outbox (PostgresStorageOptions.ShareEvents).</summary>
    public bool ShareEvents { get; set; } = true;

    /// <summary>Gets or sets the host name the library runs as (<c>--host-name</c>). The default is <c>bench</c>.</summary>
    public string HostName { get; set; } = "bench";

    /// <summary>Gets or sets the SQLite synchronous mode. The default is the library's default (Normal).</summary>
    public SqliteSynchronous Synchronous { get; set; } = new SqliteStorageOptions().Synchronous;

    /// <summary>Gets or sets the log codec. The default is the library's default (Deflate).</summary>
    public LogCompression Compression { get; set; } = new SqliteStorageOptions().Compression;

    /// <summary>Gets or sets the number of builds in flight at once. The default is 1.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>Gets or sets the database file; <see langword="null"/> (default) uses a temp file that is deleted afterwards.</summary>
    public string? DatabasePath { get; set; }

    /// <summary>Gets or sets where the JSON result goes; <see langword="null"/> writes none.</summary>
    public string? JsonPath { get; set; }

    /// <summary>Gets or sets a value indicating whether the raw-SQLite baseline runs too (after the library, in the same process).</summary>
    public bool Baseline { get; set; }

    // Postgres: also run the raw baseline with durable build starts (each build's row committed on its own first).
    public bool BaselineDurableStarts { get; set; }

    /// <summary>Gets or sets how many times each query runs for its percentiles. The default is 1,000.</summary>
    public int QueryIterations { get; set; } = 1000;

    /// <summary>Gets or sets the number of builds whose steps and logs are read back in full (evenly spread). The default is 2,000.</summary>
    public int VerifyBuilds { get; set; } = 2000;

    /// <summary>Gets or sets the builds of the untimed warm-up run (library and baseline) before the measured one. The default is 200.</summary>
    public int WarmupBuilds { get; set; } = 200;

    /// <summary>
    /// Gets or sets whether the run measures cross-host event latency on PostgreSQL instead of W1
    /// (<c>--cross-host-latency</c>, with <see cref="Builds"/> builds, 200 unless <c>--builds</c> is given).
    /// </summary>
    public bool CrossHostLatency { get; set; }

    /// <summary>Gets or sets whether the table is printed. The default is <see langword="true"/>.</summary>
    public bool Print { get; set; } = true;

    public static WorkloadOptions Parse(string[] args)
    {
        var o = new WorkloadOptions();
        var buildsGiven = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--builds": o.Builds = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); buildsGiven = true; break;
                case "--cross-host-latency": o.CrossHostLatency = true; break;
                case "--store": o.Store = Next().ToLowerInvariant(); break;
                case "--pg": o.PostgresConnectionString = Next(); break;
                case "--shared-schema": o.SharedSchema = Next(); break;
                case "--no-share-events": o.ShareEvents = false; break;
                case "--host-name": o.HostName = Next(); break;
                case "--synchronous": o.Synchronous = Enum.Parse<SqliteSynchronous>(Next(), ignoreCase: true); break;
                case "--compression": o.Compression = Enum.Parse<LogCompression>(Next(), ignoreCase: true); break;
                case "--concurrency": o.Concurrency = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--db": o.DatabasePath = Next(); break;
                case "--json": o.JsonPath = Next(); break;
                case "--baseline": o.Baseline = true; break;
                case "--baseline-durable-starts": o.Baseline = true; o.BaselineDurableStarts = true; break;
                case "--query-iterations": o.QueryIterations = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--verify-builds": o.VerifyBuilds = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--warmup": o.WarmupBuilds = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--quiet": o.Print = false; break;
                case "-h" or "--help": throw new HelpRequestedException();
                default: throw new ArgumentException($"Unknown flag '{args[i]}'.");
            }
        }

        if (o.Builds < 1 || o.Concurrency < 1 || o.QueryIterations < 1 || o.VerifyBuilds < 0 || o.WarmupBuilds < 0)
        {
            throw new ArgumentException("--builds, --concurrency and --query-iterations must be at least 1; --verify-builds and --warmup at least 0.");
        }

        if (o.Store is not ("sqlite" or "postgres" or "memory" or "null"))
        {
            throw new ArgumentException($"--store must be sqlite, postgres, memory or null, not '{o.Store}'.");
        }

        if (o.Baseline && o.Store is not ("sqlite" or "postgres"))
        {
            throw new ArgumentException("--baseline compares against raw SQLite or raw Npgsql, so it needs --store sqlite or --store postgres.");
        }

        if (o.SharedSchema is not null && (o.Store != "postgres" || o.Baseline))
        {
            throw new ArgumentException("--shared-schema needs --store postgres and no --baseline.");
        }

        if (o.CrossHostLatency)
        {
            o.Builds = buildsGiven ? o.Builds : 200;
            return string.IsNullOrWhiteSpace(o.PostgresConnectionString)
                ? throw new ArgumentException("--cross-host-latency needs --pg CONNECTION_STRING (or BUILDSTATUS_POSTGRES).")
                : o;
        }

        if (o.Store == "postgres" && string.IsNullOrWhiteSpace(o.PostgresConnectionString))
        {
            throw new ArgumentException("--store postgres needs --pg CONNECTION_STRING (or BUILDSTATUS_POSTGRES in the environment).");
        }

        return o;
    }

    public const string Usage = """
        BuildStatus.Bench: workload W1 (10 builders, N builds x 5 steps x one 200-line stdio log, 20 lines per append), then queries.
          --builds N               builds to write (default 2000)
          --store sqlite|postgres|memory|null  history store (default sqlite); null discards writes (no read-back, no queries)
          --pg CONNSTRING          PostgreSQL for --store postgres (default: $BUILDSTATUS_POSTGRES); a fresh schema per run, dropped afterwards
          --shared-schema NAME     postgres: write into NAME, shared with other runner processes (created if missing, kept)
          --no-share-events        postgres: turn the event outbox off (PostgresStorageOptions.ShareEvents = false)
          --cross-host-latency     instead of W1: two hosts on --pg, commit-to-delivery latency of BuildFinished (--builds, default 200)
          --host-name NAME         the library's HostName (default bench; give each process on a shared schema its own)
          --synchronous MODE       off|normal|full|extra (default: the library's default, normal)
          --compression CODEC      none|deflate|gzip|brotli (default: the library's default, brotli)
          --concurrency K          builds in flight (default 1)
          --db PATH                database file (default: a temp file, deleted afterwards)
          --json PATH              write the result as JSON
          --baseline               also write the same rows with hand-written Microsoft.Data.Sqlite (or, with --store postgres,
                                   Npgsql) code on the library's schema, and print the ratio
          --baseline-durable-starts  postgres: --baseline, and a second raw Npgsql run that, like the library, commits each
                                   build's row (its number allocated by the database) on its own before the build goes on
          --query-iterations N     runs of each query for p50/p95/p99 (default 1000)
          --verify-builds N        builds read back in full (default 2000; the last 50 of every builder are always checked)
          --warmup N               builds of an untimed warm-up run of each contender first (default 200; 0 for none)
          --quiet                  no table
        Exit code: 0 ok, 1 read-back mismatch, 2 bad arguments.
        """;
}

public sealed class HelpRequestedException : Exception;
