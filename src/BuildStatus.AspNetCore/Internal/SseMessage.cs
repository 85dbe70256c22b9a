namespace BuildStatus.AspNetCore.Internal;

/// <summary>One Server-Sent Events message: an event (type, id, retry, data) or a comment.</summary>
/// <param name="Data">The event's data (one line of JSON, or empty), or the comment's text.</param>
/// <param name="Type">The event type; <see langword="null"/> for the default (<c>message</c>).</param>
/// <param name="Id">The event id the browser sends back as <c>Last-Event-ID</c>.</param>
internal sealed record SseMessage(string Data, string? Type = null, string? Id = null)
{
    /// <summary>Gets the reconnection delay to announce (the <c>retry</c> field).</summary>
    public TimeSpan? Retry { get; init; }

    /// <summary>Gets whether this is a comment line (<c>: text</c>), which every client ignores: a heartbeat.</summary>
    public bool IsComment { get; init; }

    public static SseMessage Heartbeat { get; } = new("heartbeat") { IsComment = true };
}
