using BuildStatus.Storage.Sqlite;

namespace BuildStatus;

/// <summary>Chooses the SQLite storage backend in <c>services.AddBuildStatus(b => b.UseSqlite(...))</c>.</summary>
public static class SqliteBuildStatusBuilderExtensions
{
    /// <summary>Stores history in the SQLite file named by <paramref name="connectionString"/>, with default options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, for example <c>Data Source=builds.db</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or white space. Other invalid
    /// connection strings (see <see cref="SqliteStorageOptions.Validate"/>) make the host's start throw an
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>.</exception>
    public static BuildStatusBuilder UseSqlite(this BuildStatusBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqlite(options => options.ConnectionString = connectionString);
    }

    /// <summary>
    /// Stores history in SQLite with options set by <paramref name="configure"/>. The options are set and checked
    /// when the store is created, and invalid options (a missing <see cref="SqliteStorageOptions.ConnectionString"/>,
    /// an in-memory database, ...) make <see cref="IBuildStatusHost.StartAsync"/> (the hosted service's start under
    /// the Generic Host) throw an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> that names
    /// the problem, as invalid <see cref="BuildStatusOptions"/> do; registering never throws for them.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options; <see cref="SqliteStorageOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static BuildStatusBuilder UseSqlite(this BuildStatusBuilder builder, Action<SqliteStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.UseStore(_ => Storage.Sqlite.Internal.SqliteStoreFactory.Create(configure));
    }
}
