using System.Globalization;
using System.Net.Sockets;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// Where a data source connects, as error messages show it: host, port, database and user, never the password.
/// Turns the driver's start-up errors into messages that say what is wrong and what to do. Immutable.
/// </summary>
internal sealed class ConnectionTarget
{
    public ConnectionTarget(NpgsqlDataSource dataSource)
    {
        // NpgsqlDataSource.ConnectionString leaves the password out unless Persist Security Info is set; it is
        // dropped here in any case.
        var parsed = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Host = string.IsNullOrEmpty(parsed.Host) ? "localhost" : parsed.Host;
        Port = parsed.Port;
        Database = parsed.Database ?? parsed.Username ?? "(default)";
        Username = parsed.Username ?? Environment.UserName;
    }

    public string Host { get; }

    public int Port { get; }

    public string Database { get; }

    public string Username { get; }

    /// <summary>Gets the target as messages show it, such as <c>database 'ci' on db1:5432 as user 'ci'</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"database '{Database}' on {Host}:{Port} as user '{Username}'");

    /// <summary>Whether a start-up error may go away by itself (the server is down, starting, or out of connections).</summary>
    public static bool IsTransientAtStart(Exception error) => error switch
    {
        PostgresException p => p.SqlState is PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections
            or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.ConnectionFailure
            or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected,
        NpgsqlException n => n.IsTransient || n.InnerException is SocketException or IOException or TimeoutException,
        SocketException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <summary>Wraps the failure to open a connection after the start in a <see cref="BuildStoreException"/> naming the target.</summary>
    public BuildStoreException ExplainOpen(NpgsqlException error) => new(
        error is PostgresException { SqlState: PostgresErrorCodes.TooManyConnections } p
            ? $"The server of the {this} refuses new connections ({p.MessageText}): max_connections is reached. Raise it on the server or lower the connections other clients hold; the writes are queued and retried."
            : $"Cannot open a connection to the {this}: {error.Message}",
        error);

    /// <summary>Wraps a start-up error in a <see cref="BuildStoreException"/> whose message names the target and the fix.</summary>
    public BuildStoreException Explain(Exception error, int attempts, TimeSpan elapsed, string schema)
    {
        var what = error switch
        {
            PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } =>
                $"The {this} does not exist. Create it (CREATE DATABASE \"{Database}\";) or fix Database in the connection string.",
            PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } p =>
                $"PostgreSQL refused the login to the {this}: {p.MessageText}. Check Username and Password in the connection string, and pg_hba.conf on the server.",
            PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } p =>
                $"User '{Username}' may not create or upgrade the BuildStatus schema '{schema}' in the {this}: {p.MessageText}. "
                + $"Grant it the right (GRANT CREATE ON DATABASE \"{Database}\" TO \"{Username}\";, or make it the owner of schema \"{schema}\"), or run the first start once as a user who has it.",
            PostgresException { SqlState: PostgresErrorCodes.TooManyConnections } p =>
                $"The server of the {this} refuses new connections: {p.MessageText}. Raise max_connections on the server or lower the connections other clients hold.",
            _ when IsTransientAtStart(error) =>
                string.Create(CultureInfo.InvariantCulture, $"Cannot reach the {this} after {attempts} attempt(s) over {elapsed.TotalSeconds:0.#} s: {error.Message}. Check that the server runs and that Host and Port are right."),
            PostgresException p => $"PostgreSQL failed while the store started on the {this}: {p.SqlState} {p.MessageText}.",
            _ => $"The store could not start on the {this}: {error.Message}",
        };
        return new BuildStoreException(what, error);
    }
}
