using BuildStatus.Storage.Postgres;
using BuildStatus.Storage.Postgres.Internal;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BuildStatus;

/// <summary>Chooses the PostgreSQL storage backend in <c>services.AddBuildStatus(b => b.UsePostgres(...))</c>.</summary>
public static class PostgresBuildStatusBuilderExtensions
{
    /// <summary>Stores history in the PostgreSQL database named by <paramref name="connectionString"/>, with default options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=localhost;Database=buildstatus;Username=ci;Password=...</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or white space. A connection
    /// string that cannot be parsed makes the host's start throw an
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>.</exception>
    public static BuildStatusBuilder UsePostgres(this BuildStatusBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgres(options => options.ConnectionString = connectionString);
    }

    /// <summary>
    /// Stores history in PostgreSQL through the <see cref="NpgsqlDataSource"/> registered in the service container
    /// (for example by Npgsql.DependencyInjection's <c>AddNpgsqlDataSource</c>), with default options. The store does not
    /// dispose that data source.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <remarks>No <see cref="NpgsqlDataSource"/> registered makes the host's start throw an
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>.</remarks>
    public static BuildStatusBuilder UsePostgres(this BuildStatusBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UsePostgres(static _ => { });
    }

    /// <summary>
    /// Stores history in PostgreSQL with options set by <paramref name="configure"/>. When it sets neither
    /// <see cref="PostgresStorageOptions.ConnectionString"/> nor <see cref="PostgresStorageOptions.DataSource"/>, the
    /// <see cref="NpgsqlDataSource"/> registered in the service container is used. Invalid options make
    /// <see cref="IBuildStatusHost.StartAsync"/> (the hosted service's start under the Generic Host) throw an
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> that names the problem; registering never
    /// throws for them.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static BuildStatusBuilder UsePostgres(this BuildStatusBuilder builder, Action<PostgresStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.UseStore(services => PostgresStoreFactory.Create(configure, services.GetService<NpgsqlDataSource>(), services.GetService<TimeProvider>()));
    }
}
