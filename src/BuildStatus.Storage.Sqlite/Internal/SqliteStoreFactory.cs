using Microsoft.Extensions.Options;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>Makes the store <c>UseSqlite(configure)</c> describes.</summary>
internal static class SqliteStoreFactory
{
    /// <summary>
    /// Runs <paramref name="configure"/> on new options and returns the store they describe.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are invalid; <c>UseStore</c> reports it when the host starts,
    /// as for every other option, not inside <c>AddBuildStatus</c>.</exception>
    public static IBuildStore Create(Action<SqliteStorageOptions> configure)
    {
        var options = new SqliteStorageOptions();
        configure(options);
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SqliteStorageOptions), [e.Message]);
        }

        return new SqliteBuildStore(options);
    }
}
