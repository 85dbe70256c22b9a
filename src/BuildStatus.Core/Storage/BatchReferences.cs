namespace BuildStatus.Storage;

/// <summary>
/// The stored rows a <see cref="WriteBatch"/> refers to, which <see cref="WriteBatchRules.Check"/> asks an
/// <see cref="IStoredBatchState"/> about: read them in the batch's transaction before checking it.
/// </summary>
/// <param name="Builds">Builds whose existence is asked about.</param>
/// <param name="Steps">Steps whose existence is asked about.</param>
/// <param name="Logs">Logs whose stored line count is asked about.</param>
public sealed record BatchReferences(IReadOnlySet<BuildKey> Builds, IReadOnlySet<StepKey> Steps, IReadOnlySet<LogKey> Logs);
