namespace BuildStatus.AspNetCore.Internal;

/// <summary>One Server-Sent Events message: an event (type, id, retry, data), a comment, or an encoded frame.</summary>
/// <param name="Data">The event's data (one line of JSON, or empty), or the comment's text.</param>
/// <param name="Type">The event type; <see langword="null"/> for the default (<c>message</c>).</param>
/// <param name="Id">The event id the browser sends back as <c>Last-Event-ID</c>.</param>
internal sealed record SseMessage(string Data, string? Type = null, string? Id = null)
{
    /// <summary>Gets the reconnection delay to announce (the <c>retry</c> field).</summary>
    public TimeSpan? Retry { get; init; }

    /// <summary>Gets whether this is a comment line (<c>: text</c>), which every client ignores: a heartbeat.</summary>
    public bool IsComment { get; init; }

    /// <summary>
    /// Gets the whole message already encoded (UTF-8, fields and the blank line that ends it), written as it is
    /// instead of <see cref="Data"/>; empty for a message that is formatted when written.
    /// </summary>
    public ReadOnlyMemory<byte> Frame { get; init; }

    public static SseMessage Heartbeat { get; } = new("heartbeat") { IsComment = true };

    /// <summary>Wraps an encoded frame (<see cref="JournalEntry.Frame"/>).</summary>
    /// <param name="frame">The frame.</param>
    /// <param name="type">Its event type, for readers of the message (the frame carries its own).</param>
    /// <param name="id">Its id, likewise.</param>
    public static SseMessage Encoded(ReadOnlyMemory<byte> frame, string? type, string? id) => new(string.Empty, type, id) { Frame = frame };
}
