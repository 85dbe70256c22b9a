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
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or invalid (see <see cref="SqliteStorageOptions.Validate"/>).</exception>
    public static BuildStatusBuilder UseSqlite(this BuildStatusBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqlite(options => options.ConnectionString = connectionString);
    }

    /// <summary>Stores history in SQLite with options set by <paramref name="configure"/>, validated now.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options; <see cref="SqliteStorageOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The configured options are invalid (see <see cref="SqliteStorageOptions.Validate"/>).</exception>
    public static BuildStatusBuilder UseSqlite(this BuildStatusBuilder builder, Action<SqliteStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SqliteStorageOptions();
        configure(options);
        options.Validate();
        return builder.UseStore(_ => new SqliteBuildStore(options));
    }
}
