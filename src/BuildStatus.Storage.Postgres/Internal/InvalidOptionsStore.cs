using Microsoft.Extensions.Options;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// Stands in for a <see cref="PostgresBuildStore"/> whose <c>UsePostgres</c> options are invalid, so the problem is an
/// <see cref="OptionsValidationException"/> when the host starts (its first call, <see cref="InitializeAsync"/>),
/// as for every other option, not an exception inside <c>AddBuildStatus</c>. Every member throws it. Immutable.
/// </summary>
internal sealed class InvalidOptionsStore : IBuildStore, IDisposable
{
    private readonly OptionsValidationException _error;

    public InvalidOptionsStore(OptionsValidationException error)
    {
        _error = error;
    }

    /// <summary>
    /// Runs <paramref name="configure"/> on new options and returns the store they describe, or a stand-in that reports
    /// why they are invalid. Options naming no connection use <paramref name="registered"/> (the container's data source).
    /// </summary>
    public static IBuildStore Create(Action<PostgresStorageOptions> configure, Npgsql.NpgsqlDataSource? registered, TimeProvider? timeProvider)
    {
        var options = new PostgresStorageOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString) && options.DataSource is null)
        {
            if (registered is null)
            {
                return new InvalidOptionsStore(new OptionsValidationException(
                    Options.DefaultName,
                    typeof(PostgresStorageOptions),
                    ["UsePostgres needs a connection: pass a connection string, set PostgresStorageOptions.ConnectionString or DataSource, or register an NpgsqlDataSource in the service container."]));
            }

            options.DataSource = registered;
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            return new InvalidOptionsStore(new OptionsValidationException(Options.DefaultName, typeof(PostgresStorageOptions), [e.Message]));
        }

        return new PostgresBuildStore(options, timeProvider);
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.FromException(_error);

    public Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default) => Task.FromException(_error);

    public Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default) => Task.FromException<int>(_error);

    public Task<IReadOnlyList<StoredBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<StoredBuilder>>(_error);

    public Task<StoredBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default) => Task.FromException<StoredBuilder?>(_error);

    public Task<IReadOnlyList<StoredWorker>> GetWorkersAsync(CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<StoredWorker>>(_error);

    public Task<StoredWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default) => Task.FromException<StoredWorker?>(_error);

    public Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default) => Task.FromException<StoredBuild?>(_error);

    public Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<StoredBuild>>(_error);

    public Task<IReadOnlyList<StoredStep>> GetStepsAsync(BuildKey build, CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<StoredStep>>(_error);

    public Task<IReadOnlyList<StoredLog>> GetLogsAsync(StepKey step, CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<StoredLog>>(_error);

    public Task<StoredLog?> GetLogAsync(LogKey log, CancellationToken cancellationToken = default) => Task.FromException<StoredLog?>(_error);

    public Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<LogLine>>(_error);

    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsAsync(string hostName, CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<StoredBuild>>(_error);

    public Task<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Task.FromException<PruneResult>(_error);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public void Dispose()
    {
    }
}
