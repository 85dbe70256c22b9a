using System.Globalization;

namespace BuildStatus.Storage;

/// <summary>
/// Writes that a backend applies in one transaction: all or nothing. Rows are full snapshots (upserts:
/// insert, or replace every field of the existing row).
/// </summary>
/// <remarks>
/// Backends apply the lists in this order so that parents exist before children: builders, workers,
/// builds, steps, logs, log chunks. A key appears at most once in each row list. Chunks of one log come
/// in line order. A build referenced by a step or log exists (it was created by
/// <see cref="IBuildStore.CreateBuildAsync"/> or is in <see cref="Builds"/>); a builder referenced by a build
/// may not have a row yet, and the backend then creates one with only its name.
/// <para>
/// A batch that breaks these rules is rejected whole: the backend throws <see cref="BatchRejectedException"/> and
/// applies nothing (<see cref="WriteBatchRules.Check"/> checks them all and says which chunks to append). That covers
/// a step, log or chunk whose build does not exist, a log or chunk whose step does not exist, a chunk whose
/// log has no row (stored, or in <see cref="Logs"/> of the same batch), and a chunk that would leave a gap in its
/// log's line numbers (its first line is above the number of lines stored for the log, counting earlier chunks of
/// the same batch; not <see cref="StoredLog.LineCount"/>).
/// A log's <see cref="StoredLog.LineCount"/> and <see cref="StoredLog.ByteCount"/> are stored as given.
/// Strings are valid UTF-16 (Core replaces lone surrogates with U+FFFD before they reach a backend) and
/// may hold any character, including control characters and NUL.
/// </para>
/// </remarks>
public sealed record WriteBatch
{
    /// <summary>Gets the builder rows to upsert.</summary>
    public IReadOnlyList<StoredBuilder> Builders { get; init; } = [];

    /// <summary>Gets the worker rows to upsert.</summary>
    public IReadOnlyList<StoredWorker> Workers { get; init; } = [];

    /// <summary>Gets the build rows to upsert (with their stamps, changes, users and properties, which replace the stored ones).</summary>
    public IReadOnlyList<StoredBuild> Builds { get; init; } = [];

    /// <summary>Gets the step rows to upsert.</summary>
    public IReadOnlyList<StoredStep> Steps { get; init; } = [];

    /// <summary>Gets the log rows to upsert.</summary>
    public IReadOnlyList<StoredLog> Logs { get; init; } = [];

    /// <summary>
    /// Gets the log lines to append. A chunk whose first line is already stored for its log is skipped whole
    /// (the batch is being retried after an ambiguous failure), so applying a batch twice stores each line once.
    /// </summary>
    public IReadOnlyList<StoredLogChunk> LogChunks { get; init; } = [];

    /// <summary>
    /// Gets the instance that writes the batch, or <see langword="null"/>. A store implementing
    /// <see cref="IBuildInstanceStore"/> refuses the whole batch with <see cref="InstanceFencedException"/> when that
    /// instance has been claimed for recovery.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public long? InstanceId { get; init; }

    /// <summary>
    /// Gets the build requests to upsert (stores with <see cref="IBuildInstanceStore"/>; Core sends none to other
    /// stores). Applied after the builds.
    /// </summary>
    public IReadOnlyList<StoredBuildRequest> Requests { get; init; } = [];

    /// <summary>
    /// Gets the status events the batch's rows make, for other hosts sharing the storage (stores with
    /// <see cref="IBuildEventFeed"/>; Core sends none to other stores). Written in the batch's transaction, in this
    /// order, after every row; a store without an event feed ignores them.
    /// </summary>
    public IReadOnlyList<StoredEvent> Events { get; init; } = [];

    /// <summary>Gets whether the batch holds no writes.</summary>
    public bool IsEmpty => Builders.Count == 0 && Workers.Count == 0 && Builds.Count == 0 && Steps.Count == 0 && Logs.Count == 0 && LogChunks.Count == 0 && Requests.Count == 0;

    /// <summary>Gets the number of rows and chunks in the batch.</summary>
    public int Count => Builders.Count + Workers.Count + Builds.Count + Steps.Count + Logs.Count + LogChunks.Count + Requests.Count;

    /// <summary>
    /// Checks what needs no stored state: no null list, row or required field, no empty name, no key listed
    /// twice (a <see cref="StoredLogChunk"/> checks its own lines when it is constructed). Core calls it before a
    /// store sees a batch, and <see cref="WriteBatchRules.Check"/> calls it again, so a malformed batch is rejected
    /// before anything is written.
    /// </summary>
    /// <param name="batch">The batch to check.</param>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is <see langword="null"/>.</exception>
    /// <exception cref="BatchRejectedException">The batch is malformed; the message says where, and
    /// <see cref="BatchRejectedException.Keys"/> names the offending row where it has a key.</exception>
    public static void Validate(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckRows(batch.Builders, nameof(Builders));
        CheckRows(batch.Workers, nameof(Workers));
        CheckRows(batch.Builds, nameof(Builds));
        CheckRows(batch.Steps, nameof(Steps));
        CheckRows(batch.Logs, nameof(Logs));
        CheckRows(batch.LogChunks, nameof(LogChunks));
        CheckRows(batch.Requests, nameof(Requests));
        CheckRows(batch.Events, nameof(Events));
        CheckUnique(batch.Requests, r => HasName(r.BuilderName, "A build request") && r.SourceStamps is not null && r.Properties is not null, r => r.Id, "Build request");
        CheckUnique(batch.Builders, b => HasName(b.Name, "A builder") && b.Tags is not null, b => b.Name, "Builder");
        CheckUnique(batch.Workers, w => HasName(w.Name, "A worker") && w.Info is not null, w => w.Name, "Worker");
        CheckUnique(
            batch.Builds,
            b => HasName(b.BuilderName, "A build") && b.HostName is not null && b.StateText is not null && b.SourceStamps is not null
                && b.Changes is not null && b.ResponsibleUsers is not null && b.Properties is not null,
            b => b.Key,
            "Build");
        CheckUnique(
            batch.Steps,
            s => HasName(s.Key.BuilderName, "A step's builder") && s.Name is not null && s.StateText is not null && s.Urls is not null && s.Statistics is not null,
            s => s.Key,
            "Step");
        CheckUnique(batch.Logs, l => HasName(l.Key.BuilderName, "A log's builder") && l.Name is not null, l => l.Key, "Log");
        foreach (var chunk in batch.LogChunks)
        {
            // A chunk checks its own lines when it is constructed (consecutive, non-negative, valid UTF-8).
            HasName(chunk.Log.BuilderName, "A chunk's builder");
        }

        foreach (var statusEvent in batch.Events)
        {
            HasName(statusEvent.BuilderName, "An event's builder");
            if (statusEvent.HostName is null)
            {
                throw Reject($"An event of {statusEvent.BuilderName} #{statusEvent.BuildNumber} has no host name.");
            }
        }
    }

    private static BatchRejectedException Reject(string message, object? key = null)
        => new(message + " Nothing in the batch was applied.", key is null ? [] : [key]);

    private static void CheckRows<T>(IReadOnlyList<T>? rows, string name)
        where T : class
    {
        if (rows is null)
        {
            throw Reject($"WriteBatch.{name} is null.");
        }

        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i] is null)
            {
                throw Reject(string.Create(CultureInfo.InvariantCulture, $"WriteBatch.{name}[{i}] is null."));
            }
        }
    }

    private static void CheckUnique<TRow, TKey>(IReadOnlyList<TRow> rows, Func<TRow, bool> isComplete, Func<TRow, TKey> key, string what)
        where TKey : notnull
    {
        var seen = new HashSet<TKey>();
        foreach (var row in rows)
        {
            if (!isComplete(row))
            {
                throw Reject($"{what} {key(row)} has a null field that is required.", key(row));
            }

            if (!seen.Add(key(row)))
            {
                throw Reject($"{what} {key(row)} appears twice in the batch.", key(row));
            }
        }
    }

    private static bool HasName(string? name, string what) =>
        !string.IsNullOrEmpty(name) ? true : throw Reject($"{what} has a null or empty name.");
}
