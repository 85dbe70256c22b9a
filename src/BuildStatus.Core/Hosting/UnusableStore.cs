using BuildStatus.Storage;

namespace BuildStatus.Hosting;

/// <summary>
/// Stands in when there is no usable backend, so every use fails with the same clear error: none is configured, or the
/// backend's factory refused its options (<see cref="BuildStatusBuilder.UseStore"/> defers that error to the start).
/// Immutable.
/// </summary>
internal sealed class UnusableStore : IBuildStore
{
    private const string Message = "No BuildStatus storage backend is configured. Choose one in AddBuildStatus, e.g. services.AddBuildStatus(b => b.UseSqlite(\"Data Source=builds.db\")) or b.UseInMemoryStorage().";

    private readonly Exception? _error;

    /// <param name="error">Why the backend cannot be used; <see langword="null"/> when none is configured.</param>
    public UnusableStore(Exception? error = null)
    {
        _error = error;
    }

    private Exception Fail() => _error ?? new InvalidOperationException(Message);

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
