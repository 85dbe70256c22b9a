using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>
/// The PostgreSQL server of this test run: a throw-away cluster that the run creates with <c>initdb</c> in a temporary
/// directory, listening on a free loopback port and a socket in that directory, started with <c>pg_ctl</c> and removed
/// afterwards; or, when <c>BUILDSTATUS_POSTGRES</c> is set, the server that connection string names (the tests then
/// only create and drop databases of their own on it, named <c>bs_test_*</c>). The server refuses to run as root, so
/// as root the cluster runs as the system user <c>buildstatus-pg</c>, created when missing.
/// </summary>
internal sealed class PostgresServer
{
    public const string SuperuserPassword = "test-superuser-secret";
    private const string ServiceUser = "buildstatus-pg";

    private readonly string? _directory;
    private readonly string? _binDirectory;
    private readonly string? _runAs;
    private readonly List<string> _databases = [];

    private PostgresServer(string adminConnectionString, string? directory, string? binDirectory, string? runAs, int port)
    {
        AdminConnectionString = adminConnectionString;
        _directory = directory;
        _binDirectory = binDirectory;
        _runAs = runAs;
        Port = port;
    }

    /// <summary>Gets the server of this run, started by <see cref="PostgresSetUp"/>.</summary>
    public static PostgresServer Instance => PostgresSetUp.Server ?? FromParent ?? throw new InvalidOperationException("The PostgreSQL test server is started by PostgresSetUp.");

    /// <summary>
    /// The variable through which a child process of the test run (the conformance suite's fresh-process check) finds the
    /// server this run started; set by <see cref="PostgresSetUp"/>.
    /// </summary>
    public const string ParentVariable = "BUILDSTATUS_POSTGRES_TEST_SERVER";

    private static PostgresServer? FromParent
        => Environment.GetEnvironmentVariable(ParentVariable) is { Length: > 0 } given
            ? new PostgresServer(given, directory: null, binDirectory: null, runAs: null, new NpgsqlConnectionStringBuilder(given).Port)
            : null;

    /// <summary>Gets a superuser connection string to the <c>postgres</c> database.</summary>
    public string AdminConnectionString { get; }

    /// <summary>Gets the server's TCP port.</summary>
    public int Port { get; }

    /// <summary>Gets whether this run started the server (so it may restart it for fault tests).</summary>
    public bool IsOwned => _directory is not null;

    /// <summary>Gets the cluster's data directory (only when <see cref="IsOwned"/>).</summary>
    public string DataDirectory => Path.Combine(_directory ?? throw new InvalidOperationException("The server was not started by this run."), "data");

    public static async Task<PostgresServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("BUILDSTATUS_POSTGRES") is { Length: > 0 } given)
        {
            var builder = new NpgsqlConnectionStringBuilder(given);
            return new PostgresServer(given, directory: null, binDirectory: null, runAs: null, builder.Port);
        }

        return await StartOwnAsync();
    }

    /// <summary>Creates and starts a cluster of this run's own (never a given server), with extra postgresql.conf lines.</summary>
    public static async Task<PostgresServer> StartOwnAsync(string extraConfig = "")
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL's initdb was not found on PATH or under /usr/lib/postgresql/*/bin. Install it (apt-get install -y postgresql; .ci/run does) or set BUILDSTATUS_POSTGRES to a server the tests may create databases on.");
        var directory = Path.Combine(Path.GetTempPath(), "bs-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var runAs = Environment.UserName == "root" || IsRoot() ? ServiceUser : null;
        if (runAs is not null)
        {
            EnsureServiceUser();
            Run("chown", ["-R", $"{ServiceUser}:", directory]);
        }

        var port = FreePort();
        var server = new PostgresServer(
            $"Host=127.0.0.1;Port={port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Password={SuperuserPassword};Database=postgres;Pooling=false;Timeout=30",
            directory,
            bin,
            runAs,
            port);
        try
        {
            var passwordFile = Path.Combine(directory, "pw");
            await File.WriteAllTextAsync(passwordFile, SuperuserPassword);
            if (runAs is not null)
            {
                Run("chown", [$"{ServiceUser}:", passwordFile]);
            }

            server.RunTool("initdb", ["-D", server.DataDirectory, "-U", "postgres", "--pwfile", passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
            File.Delete(passwordFile);
            await File.AppendAllTextAsync(
                Path.Combine(server.DataDirectory, "postgresql.conf"),
                $"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{directory}'\nmax_connections = 200\nfsync = on\nsynchronous_commit = on\n{extraConfig}\n");
            server.Start();
            return server;
        }
        catch
        {
            server.Stop();
            throw;
        }
    }

    /// <summary>Starts the cluster (after <see cref="StartAsync"/> created it, or after a stop).</summary>
    public void Start() => RunTool("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_directory!, "server.log"), "-w", "-t", "120", "start"]);

    /// <summary>Restarts the server at once, as a crash would (<c>pg_ctl restart -m immediate</c>): connections drop, committed work survives.</summary>
    public void RestartImmediately() => RunTool("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_directory!, "server.log"), "-w", "-t", "120", "-m", "immediate", "restart"]);

    /// <summary>Stops the cluster and deletes its directory; drops the databases this run created on a given server.</summary>
    public void Stop()
    {
        if (_directory is null)
        {
            DropDatabases();
            return;
        }

        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                RunTool("pg_ctl", ["-D", DataDirectory, "-w", "-m", "immediate", "stop"]);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Creates a fresh database for one fixture and returns a connection string to it (as the superuser).</summary>
    public async Task<string> CreateDatabaseAsync(string? owner = null)
    {
        var name = "bs_test_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAdminAsync($"CREATE DATABASE {name}" + (owner is null ? string.Empty : $" OWNER {owner}"));
        lock (_databases)
        {
            _databases.Add(name);
        }

        return ConnectionString(name);
    }

    /// <summary>A connection string to <paramref name="database"/> as the superuser, pooled.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database, Pooling = true }.ConnectionString;

    public async Task ExecuteAdminAsync(string sql, string? database = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(AdminConnectionString);
        if (database is not null)
        {
            builder.Database = database;
        }

        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private void DropDatabases()
    {
        string[] names;
        lock (_databases)
        {
            names = [.. _databases];
        }

        foreach (var name in names)
        {
            try
            {
                ExecuteAdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)").GetAwaiter().GetResult();
            }
            catch (NpgsqlException)
            {
            }
        }
    }

    private void RunTool(string tool, string[] arguments)
    {
        var path = Path.Combine(_binDirectory!, tool);
        if (_runAs is null)
        {
            Run(path, arguments);
        }
        else
        {
            Run("runuser", ["-u", _runAs, "--", path, .. arguments]);
        }
    }

    private static void Run(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} did not finish within 3 minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {output.Result}{error.Result}");
        }
    }

    /// <summary>Gets whether a server can be had: <c>BUILDSTATUS_POSTGRES</c> names one, or initdb and pg_ctl are installed.</summary>
    public static bool IsAvailable
        => Environment.GetEnvironmentVariable("BUILDSTATUS_POSTGRES") is { Length: > 0 } || FindBinDirectory() is not null;

    private static string? FindBinDirectory()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        const string Debian = "/usr/lib/postgresql";
        if (!Directory.Exists(Debian))
        {
            return null;
        }

        return Directory.GetDirectories(Debian)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0))
            .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Dir)
            .FirstOrDefault();
    }

    private static bool IsRoot()
    {
        try
        {
            return File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void EnsureServiceUser()
    {
        try
        {
            Run("id", ["-u", ServiceUser]);
        }
        catch (InvalidOperationException)
        {
            try
            {
                Run("useradd", ["-r", "-M", "-s", "/usr/sbin/nologin", ServiceUser]);
            }
            catch (InvalidOperationException)
            {
                // Another test process created it meanwhile.
                Run("id", ["-u", ServiceUser]);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
