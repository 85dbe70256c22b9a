namespace BuildStatus.Storage;

/// <summary>
/// A backend's answer that a write can never succeed as given (a row whose parent does not exist, a log chunk that
/// would leave a gap, a malformed row): retrying the same write cannot help. This is the one exception a backend
/// throws for that; Core classifies on this type alone and treats every other exception as transient (retried with
/// backoff).
/// </summary>
/// <remarks>
/// <para>
/// The backend applies nothing of a batch it rejects. <see cref="Keys"/> names the offending rows where the backend
/// knows them: Core then leaves those rows out (they are <em>quarantined</em>: logged with their keys, counted in the
/// <c>buildstatus.writer.quarantined</c> metric and reported by the health check) and commits the rest of the batch.
/// When <see cref="Keys"/> is empty, Core splits the batch until it has found the offending rows.
/// </para>
/// <para>
/// Implementers: throw it only for a write that is wrong in itself; a driver's own <see cref="ArgumentException"/>
/// or any other failure is a transient error (or a defect), not a rejection.
/// </para>
/// </remarks>
public class BatchRejectedException : BuildStoreException
{
    /// <summary>Initializes a new instance of the <see cref="BatchRejectedException"/> class.</summary>
    public BatchRejectedException()
        : this("The storage backend rejected the batch.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BatchRejectedException"/> class.</summary>
    /// <param name="message">What was wrong.</param>
    public BatchRejectedException(string message)
        : this(message, [], null)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BatchRejectedException"/> class.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public BatchRejectedException(string message, Exception? innerException)
        : this(message, [], innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BatchRejectedException"/> class.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="keys">The keys of the offending rows: <see cref="BuildKey"/>, <see cref="StepKey"/> or
    /// <see cref="LogKey"/> values, or a <see cref="string"/> naming a builder or a worker.</param>
    /// <param name="innerException">The cause, if any.</param>
    /// <exception cref="ArgumentNullException"><paramref name="keys"/> is <see langword="null"/>.</exception>
    public BatchRejectedException(string message, IReadOnlyList<object> keys, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(keys);
        Keys = keys;
    }

    /// <summary>
    /// Gets the keys of the offending rows, where the backend knows them: <see cref="BuildKey"/>,
    /// <see cref="StepKey"/> or <see cref="LogKey"/> values (a chunk is named by its log), or a <see cref="string"/>
    /// naming a builder or a worker. Empty when the backend cannot tell.
    /// </summary>
    /// <value>The default value is an empty list.</value>
    public IReadOnlyList<object> Keys { get; }
}
