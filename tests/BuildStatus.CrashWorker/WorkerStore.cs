using BuildStatus;

namespace BuildStatus.CrashWorker;

/// <summary>
/// The worker's storage: SQLite at a file path (the default), or PostgreSQL with <c>--store postgres --pg CONNSTR</c>
/// (the database the test created; the store's default schema).
/// </summary>
internal sealed record WorkerStore(string Kind, string Target)
{
    /// <summary>Reads <c>--store</c> and <c>--pg</c> from name/value pairs; <paramref name="sqlitePath"/> is the SQLite file otherwise.</summary>
    public static WorkerStore From(IReadOnlyDictionary<string, string> options, string? sqlitePath)
    {
        var kind = options.GetValueOrDefault("--store", "sqlite");
        return kind switch
        {
            "sqlite" => new WorkerStore(kind, sqlitePath ?? throw new ArgumentException("missing --db (the SQLite file)")),
            "postgres" => new WorkerStore(kind, options.GetValueOrDefault("--pg") ?? throw new ArgumentException("--store postgres needs --pg CONNECTION-STRING")),
            _ => throw new ArgumentException($"unknown --store '{kind}' (sqlite or postgres)"),
        };
    }

    /// <summary>Chooses the backend on the host's builder.</summary>
    public BuildStatusBuilder Use(BuildStatusBuilder builder) => Kind == "postgres"
        ? builder.UsePostgres(Target)
        : builder.UseSqlite(o => o.ConnectionString = $"Data Source={Target}");
}
