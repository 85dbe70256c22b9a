namespace BuildStatusSample;

/// <summary>The web sample's settings (command line <c>--port 5080 --db FILE --builds false</c>, or configuration).</summary>
internal static class WebSample
{
    public const int DefaultPort = 5080;
    public const string DefaultDatabase = "buildstatus-web.db";
    public const string WorkerName = "local-worker";

    public const string Usage = """
        BuildStatus web sample: the console sample's builds, run continuously, and the live status page.

        Usage: dotnet run --project samples/BuildStatus.Web [-- options]

        Options:
          --port N          port on 127.0.0.1 (default 5080; 0 picks a free one)
          --db PATH         SQLite database file (default ./buildstatus-web.db)
          --builds false    serve the page and history only, run no builds
          --host-name NAME  this host's name (default: the machine's name)
          --share-events true
                            share events with other processes on the same --db file, so the
                            Hosts page shows their running builds live
          --help            show this help

        Stop it with Ctrl+C: running builds are recorded as cancelled and the history is flushed.
        """;

    /// <summary>Reads the port; throws a message for the user when it is not one.</summary>
    public static int Port(IConfiguration configuration)
    {
        var text = configuration["port"];
        if (text is null)
        {
            return DefaultPort;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"--port must be a whole number from 0 to 65535, not '{text}'.");
        }

        return port;
    }

    public static string Database(IConfiguration configuration) => Path.GetFullPath(configuration["db"] ?? DefaultDatabase);

    /// <summary>Reads the host name, or <see langword="null"/> for the default (the machine's name).</summary>
    public static string? HostName(IConfiguration configuration) => configuration["host-name"] is { Length: > 0 } name ? name : null;

    public static bool ShareEvents(IConfiguration configuration)
        => string.Equals(configuration["share-events"], "true", StringComparison.OrdinalIgnoreCase);

    public static bool RunBuilds(IConfiguration configuration)
        => !string.Equals(configuration["builds"], "false", StringComparison.OrdinalIgnoreCase);
}
