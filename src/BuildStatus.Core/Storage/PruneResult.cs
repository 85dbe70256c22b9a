namespace BuildStatus.Storage;

/// <summary>What one pruning pass deleted.</summary>
/// <param name="BuildsDeleted">Builds deleted (with their steps, logs and lines).</param>
/// <param name="LogsDeleted">Logs deleted (with their lines) from builds that were kept.</param>
public sealed record PruneResult(int BuildsDeleted, int LogsDeleted);
