using BuildStatus.Storage;

namespace BuildStatus.Hosting;

/// <summary>Stands in when no backend is configured, so every use fails with the same clear message.</summary>
internal sealed class MissingStore : IBuildStore
{
    private const string Message = "No BuildStatus storage backend is configured. Choose one in AddBuildStatus, e.g. services.AddBuildStatus(b => b.UseSqlite(\"Data Source=builds.db\")) or b.UseInMemoryStorage().";

    private static InvalidOperationException Fail() => new(Message);

    public Task InitializeAsync(CancellationToken cancellationToken = default) => throw Fail();

    public Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default) => throw Fail();

    public Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default) => throw Fail();

    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) => throw Fail();

    public Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => throw Fail();

    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) => throw Fail();

    public Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => throw Fail();

    public Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => throw Fail();

    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => throw Fail();

    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) => throw Fail();

    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) => throw Fail();

    public Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) => throw Fail();

    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default) => throw Fail();

    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default) => throw Fail();

    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => throw Fail();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
