namespace BuildStatus.AspNetCore.Internal;

/// <summary>One serialized status event in the replay buffer. Immutable; shared by every stream that sends it.</summary>
/// <param name="Sequence">Its position in the journal, 1, 2, 3… without gaps.</param>
/// <param name="Kind">Its kind, or <see cref="StatusEventKinds.None"/> for a reset marker.</param>
/// <param name="BuilderName">The builder it concerns, if any (for filtering).</param>
/// <param name="BuildNumber">The build it concerns, if any (for filtering).</param>
/// <param name="Payload">Its JSON.</param>
/// <param name="Bytes">The size it is counted for against <see cref="BuildStatusWebOptions.ReplayBufferBytes"/>.</param>
internal sealed record JournalEntry(long Sequence, StatusEventKinds Kind, string? BuilderName, int? BuildNumber, string Payload, long Bytes)
{
    /// <summary>Gets the log a <see cref="StatusEventKinds.LogChunk"/> belongs to, so that a slow stream can coalesce chunks per log.</summary>
    public string? LogKey { get; init; }

    /// <summary>
    /// Gets a <see cref="StatusEventKinds.LogChunk"/> entry's JSON up to its line array (<c>…,"lines":[</c>): the
    /// payload is this, then <see cref="ChunkLines"/>, then <c>]}</c>, so chunks merge by joining text.
    /// </summary>
    public string? ChunkHead { get; init; }

    /// <summary>Gets a <see cref="StatusEventKinds.LogChunk"/> entry's lines as JSON array elements (no brackets).</summary>
    public string? ChunkLines { get; init; }

    /// <summary>Gets how many lines a <see cref="StatusEventKinds.LogChunk"/> entry carries.</summary>
    public int ChunkLineCount { get; init; }

    /// <summary>Gets whether this entry tells the stream that events were lost, so the client must reload its snapshot.</summary>
    public bool IsReset => Kind == StatusEventKinds.None;
}
