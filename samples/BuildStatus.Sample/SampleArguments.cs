using System.Globalization;

namespace BuildStatusSample;

/// <summary>The sample's command line. Parsed by hand to keep the sample free of extra packages.</summary>
internal sealed record SampleArguments
{
    public const string DefaultDatabase = "buildstatus-sample.db";
    public const int DefaultBuilds = 2;
    public const int MaxBuilds = 100;

    public const string Usage = """
        BuildStatus sample: a small CI host that runs a few shell builds, shows their live status and
        keeps their history in a SQLite file. Run it twice: the second run shows the first run's builds.

        Usage: dotnet run --project samples/BuildStatus.Sample [-- options]

        Options:
          --builds N        builds to run per builder (default 2, 1..100)
          --db PATH         SQLite database file (default ./buildstatus-sample.db)
          --history-only    only print the stored history, run nothing
          --otel-console    export BuildStatus traces and metrics to the console (OpenTelemetry console exporter)
          -h, --help        show this help

        Exit codes: 0 success (failing builds are part of the demo), 1 the sample failed,
                    2 bad arguments, 130 interrupted by Ctrl+C.
        """;

    /// <summary>Gets how many builds each builder runs.</summary>
    public int Builds { get; init; } = DefaultBuilds;

    /// <summary>Gets the database file path.</summary>
    public string DatabasePath { get; init; } = DefaultDatabase;

    /// <summary>Gets whether to print the history without running builds.</summary>
    public bool HistoryOnly { get; init; }

    /// <summary>Gets whether to export the BuildStatus spans and metrics to the console.</summary>
    public bool OtelConsole { get; init; }

    /// <summary>Gets whether help was asked for.</summary>
    public bool ShowHelp { get; init; }

    /// <summary>Parses the command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The parsed arguments.</returns>
    /// <exception cref="FormatException">An argument is unknown, missing its value, or has a bad value.</exception>
    public static SampleArguments Parse(IReadOnlyList<string> args)
    {
        var result = new SampleArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];

            // Accept both "--db PATH" and "--db=PATH".
            string? inlineValue = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            switch (arg)
            {
                case "-h" or "--help" or "-?" when inlineValue is null:
                    result = result with { ShowHelp = true };
                    break;
                case "--history-only" when inlineValue is null:
                    result = result with { HistoryOnly = true };
                    break;
                case "--otel-console" when inlineValue is null:
                    result = result with { OtelConsole = true };
                    break;
                case "--builds":
                    var text = inlineValue ?? ValueAfter(args, ref i, arg);
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var builds) || builds is < 1 or > MaxBuilds)
                    {
                        throw new FormatException($"--builds must be a whole number from 1 to {MaxBuilds}, not '{text}'.");
                    }

                    result = result with { Builds = builds };
                    break;
                case "--db":
                    var path = inlineValue ?? ValueAfter(args, ref i, arg);
                    if (string.IsNullOrWhiteSpace(path))
                    {
                        throw new FormatException("--db needs a file path.");
                    }

                    result = result with { DatabasePath = path };
                    break;
                default:
                    throw new FormatException($"Unknown argument '{args[i]}'.");
            }
        }

        return result;
    }

    private static string ValueAfter(IReadOnlyList<string> args, ref int i, string name)
    {
        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new FormatException($"{name} needs a value.");
        }

        return args[++i];
    }
}
