namespace BuildStatus;

/// <summary>A log as stored.</summary>
public interface IPersistentLog
{
    /// <summary>Gets the builder name.</summary>
    string BuilderName { get; }

    /// <summary>Gets the build number.</summary>
    int BuildNumber { get; }

    /// <summary>Gets the step number.</summary>
    int StepNumber { get; }

    /// <summary>Gets the log number within the step.</summary>
    int Number { get; }

    /// <summary>Gets the log name.</summary>
    string Name { get; }

    /// <summary>Gets what the log holds.</summary>
    LogKind Kind { get; }

    /// <summary>Gets whether the log is stored as finished.</summary>
    bool IsFinished { get; }

    /// <summary>Gets the number of stored lines.</summary>
    long LineCount { get; }

    /// <summary>Gets the number of stored UTF-8 bytes (without terminators).</summary>
    long ByteCount { get; }

    /// <summary>Reads stored lines by range, touching only the chunks that hold them.</summary>
    /// <param name="firstLine">The zero-based first line.</param>
    /// <param name="maxLines">The most lines to return.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The lines, in order; fewer than <paramref name="maxLines"/> at the end of the log.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLine"/> or <paramref name="maxLines"/> is negative.</exception>
    Task<IReadOnlyList<LogLine>> ReadLinesAsync(long firstLine = 0, int maxLines = int.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams the log from a line on: the stored lines first, then live lines as they are committed, with no
    /// gap and no duplicate, ending when the log finishes (or its build is pruned). While no new line is readable
    /// the stream waits (for the next commit of a live log of this host, else polling every 250 ms); it never
    /// asks storage again at once.
    /// </summary>
    /// <param name="firstLine">The zero-based line to start from.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The lines, in order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLine"/> is negative.</exception>
    /// <exception cref="Storage.BuildStoreException">Thrown by the enumerator when the log is stored as finished
    /// with more lines than storage can return: the stream yields every readable line, then ends with this error
    /// naming the missing range, instead of waiting for lines that will never come.</exception>
    IAsyncEnumerable<LogLine> FollowAsync(long firstLine = 0, CancellationToken cancellationToken = default);
}
