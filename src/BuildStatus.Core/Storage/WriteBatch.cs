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
/// A batch that breaks these rules is rejected whole: the backend throws and applies nothing. That covers
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

    /// <summary>Gets whether the batch holds no writes.</summary>
    public bool IsEmpty => Builders.Count == 0 && Workers.Count == 0 && Builds.Count == 0 && Steps.Count == 0 && Logs.Count == 0 && LogChunks.Count == 0;

    /// <summary>Gets the number of rows and chunks in the batch.</summary>
    public int Count => Builders.Count + Workers.Count + Builds.Count + Steps.Count + Logs.Count + LogChunks.Count;
}
