using Microsoft.Extensions.Options;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>Makes the store <c>UsePostgres</c> describes.</summary>
internal static class PostgresStoreFactory
{
    /// <summary>
    /// Runs <paramref name="configure"/> on new options and returns the store they describe. Options naming no
    /// connection use <paramref name="registered"/> (the container's data source).
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are invalid; <c>UseStore</c> reports it when the host starts.</exception>
    public static IBuildStore Create(Action<PostgresStorageOptions> configure, Npgsql.NpgsqlDataSource? registered, TimeProvider? timeProvider)
    {
        var options = new PostgresStorageOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString) && options.DataSource is null)
        {
            if (registered is null)
            {
                throw new OptionsValidationException(
                    Options.DefaultName,
                    typeof(PostgresStorageOptions),
                    ["UsePostgres needs a connection: pass a connection string, set PostgresStorageOptions.ConnectionString or DataSource, or register an NpgsqlDataSource in the service container."]);
            }

            options.DataSource = registered;
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(PostgresStorageOptions), [e.Message]);
        }

        return new PostgresBuildStore(options, timeProvider);
    }
}
