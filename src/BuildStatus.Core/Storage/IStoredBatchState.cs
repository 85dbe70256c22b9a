namespace BuildStatus.Storage;

/// <summary>
/// What <see cref="WriteBatchRules.Check"/> needs to know of the stored state: which parents exist and how many
/// lines a log has. A backend answers from inside the transaction (or under the lock) in which it then applies the
/// batch, so the answers describe the state the batch is applied to.
/// </summary>
/// <remarks>
/// Only keys the batch refers to are asked about, each at most once per member. An asynchronous backend that cannot
/// answer synchronously first reads the keys <see cref="WriteBatchRules.GetReferencedKeys"/> lists, in its
/// transaction, and answers from them.
/// </remarks>
public interface IStoredBatchState
{
    /// <summary>Returns whether a build is stored.</summary>
    /// <param name="build">The build's key (never with a <see langword="null"/> builder name).</param>
    /// <returns><see langword="true"/> when the build has a row.</returns>
    bool BuildExists(BuildKey build);

    /// <summary>Returns whether a step is stored.</summary>
    /// <param name="step">The step's key.</param>
    /// <returns><see langword="true"/> when the step has a row.</returns>
    bool StepExists(StepKey step);

    /// <summary>Returns how many lines are stored for a log (the next line number to append), or
    /// <see langword="null"/> when the log has no row.</summary>
    /// <param name="log">The log's key.</param>
    /// <returns>The number of stored lines (not <see cref="StoredLog.LineCount"/>, which is stored as given), or
    /// <see langword="null"/>.</returns>
    long? GetStoredLineCount(LogKey log);
}
