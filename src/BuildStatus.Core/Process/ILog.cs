namespace BuildStatus;

/// <summary>A log as the CI host drives it. It is its own <see cref="ILogStatus"/>.</summary>
/// <remarks>
/// Text is split into whole lines at <c>\n</c> (a preceding <c>\r</c> is dropped). A trailing piece without
/// a newline is held until the next append completes it or the log finishes. Appends complete
/// synchronously while the write queue has room and wait when it is full, so memory stays bounded under a
/// slow or stalled backend and nothing is dropped.
/// </remarks>
public interface ILog : ILogStatus
{
    /// <summary>Gets the persistent counterpart of this log.</summary>
    IPersistentLog Persistent { get; }

    /// <summary>Appends text, which may hold many lines.</summary>
    /// <param name="channel">The stream the text came from.</param>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Abandons the wait for queue space; the text is then not appended.</param>
    /// <returns>A task that completes when the text is accepted (not when it is stored).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channel"/> is not a defined <see cref="LogChannel"/> value.</exception>
    /// <exception cref="InvalidOperationException">The log has finished, or the host has stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
#pragma warning disable RS0026 // Two AppendAsync overloads with an optional token, as Stream.WriteAsync has; nothing has shipped, and only a bare null literal is ambiguous.
    ValueTask AppendAsync(LogChannel channel, string text, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends text, which may hold many lines, from memory the caller owns, so a host that reads a pipe into a
    /// reused <c>char[]</c> appends without making a string. Splits lines as <see cref="AppendAsync(LogChannel, string, CancellationToken)"/> does.
    /// </summary>
    /// <param name="channel">The stream the text came from.</param>
    /// <param name="text">The text. It must stay unchanged until the returned task completes; the log copies it
    /// before then (at once when the task completes synchronously, as it does while the write queue has room), and
    /// the caller may reuse the memory afterwards.</param>
    /// <param name="cancellationToken">Abandons the wait for queue space; the text is then not appended.</param>
    /// <returns>A task that completes when the text is accepted (not when it is stored).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channel"/> is not a defined <see cref="LogChannel"/> value.</exception>
    /// <exception cref="InvalidOperationException">The log has finished, or the host has stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    ValueTask AppendAsync(LogChannel channel, ReadOnlyMemory<char> text, CancellationToken cancellationToken = default);
#pragma warning restore RS0026

    /// <summary>Appends one whole line. Newlines inside <paramref name="line"/> split it into several lines.</summary>
    /// <param name="channel">The stream the line came from.</param>
    /// <param name="line">The line, without terminator.</param>
    /// <param name="cancellationToken">Abandons the wait for queue space; the line is then not appended.</param>
    /// <returns>A task that completes when the line is accepted.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="line"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channel"/> is not a defined <see cref="LogChannel"/> value.</exception>
    /// <exception cref="InvalidOperationException">The log has finished, or the host has stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    ValueTask AppendLineAsync(LogChannel channel, string line, CancellationToken cancellationToken = default);

    /// <summary>Finishes the log; a pending partial line is kept as a last line.</summary>
    /// <exception cref="InvalidOperationException">The log has already finished, or the host has stopped.</exception>
    void Finish();
}
