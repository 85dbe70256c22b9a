namespace BuildStatus.AspNetCore.Internal;

/// <summary>What one read of the journal found.</summary>
/// <param name="Entries">The matching entries after the cursor, oldest first (a reset marker first when the cursor was lost).</param>
/// <param name="ScannedTo">The sequence the stream's cursor moves to (every entry up to it was looked at).</param>
/// <param name="Changed">Completes when an entry is added after this read.</param>
internal readonly record struct JournalRead(IReadOnlyList<JournalEntry> Entries, long ScannedTo, Task Changed)
{
    /// <summary>Gets whether the read looked at every entry there was (none was left for a next read).</summary>
    public bool AtEnd { get; init; }
}
