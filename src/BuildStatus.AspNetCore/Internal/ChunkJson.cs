namespace BuildStatus.AspNetCore.Internal;

/// <summary>A <c>logChunk</c> event's JSON in parts (<see cref="JournalEntry.Chunk"/>).</summary>
/// <param name="Head">The JSON up to the line array, ending in <c>"lines":[</c> (UTF-8).</param>
/// <param name="Lines">The lines as JSON array elements without brackets (UTF-8).</param>
internal sealed record ChunkJson(ReadOnlyMemory<byte> Head, ReadOnlyMemory<byte> Lines);
