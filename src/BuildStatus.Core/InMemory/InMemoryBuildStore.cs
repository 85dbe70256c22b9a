using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>TEMPORARY: being implemented on the in-memory branch.</summary>
public sealed class InMemoryBuildStore : IBuildStore
{
    /// <inheritdoc/>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => throw new NotImplementedException();
    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
