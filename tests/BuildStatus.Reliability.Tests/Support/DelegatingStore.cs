using BuildStatus.Storage;

namespace BuildStatus.Reliability.Tests.Support;

/// <summary>Forwards every IBuildStore call to an inner store; fault injectors override what they need.</summary>
internal abstract class DelegatingStore(IBuildStore inner) : IBuildStore
{
    protected IBuildStore Inner { get; } = inner;

    public virtual Task InitializeAsync(CancellationToken cancellationToken = default) => Inner.InitializeAsync(cancellationToken);

    public virtual Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default) => Inner.ApplyAsync(batch, cancellationToken);

    public virtual Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default) => Inner.CreateBuildAsync(build, cancellationToken);

    public virtual Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) => Inner.GetBuildersAsync(cancellationToken);

    public virtual Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => Inner.GetBuilderAsync(name, cancellationToken);

    public virtual Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) => Inner.GetWorkersAsync(cancellationToken);

    public virtual Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => Inner.GetWorkerAsync(name, cancellationToken);

    public virtual Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => Inner.GetBuildAsync(key, cancellationToken);

    public virtual Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => Inner.QueryBuildsAsync(query, cancellationToken);

    public virtual Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) => Inner.GetStepsAsync(build, cancellationToken);

    public virtual Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) => Inner.GetLogsAsync(step, cancellationToken);

    public virtual Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) => Inner.GetLogAsync(log, cancellationToken);

    public virtual Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default) => Inner.ReadLogLinesAsync(log, firstLine, maxLines, cancellationToken);

    public virtual Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default) => Inner.GetUnfinishedBuildsAsync(hostName, cancellationToken);

    public virtual Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Inner.PruneAsync(policy, now, cancellationToken);

    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
