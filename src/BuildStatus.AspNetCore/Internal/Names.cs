namespace BuildStatus.AspNetCore.Internal;

/// <summary>The wire names of enum values: camelCase, fixed here so a renamed member cannot change the API.</summary>
internal static class Names
{
    public static string? Result(BuildResult? result) => result switch
    {
        null => null,
        BuildResult.Success => "success",
        BuildResult.Warnings => "warnings",
        BuildResult.Failure => "failure",
        BuildResult.Skipped => "skipped",
        BuildResult.Exception => "exception",
        BuildResult.Retry => "retry",
        BuildResult.Cancelled => "cancelled",
        _ => "unknown",
    };

    public static bool TryParseResult(string text, out BuildResult result)
    {
        foreach (var value in Enum.GetValues<BuildResult>())
        {
            if (string.Equals(Result(value), text, StringComparison.OrdinalIgnoreCase))
            {
                result = value;
                return true;
            }
        }

        result = default;
        return false;
    }

    public static string State(BuilderState state) => state switch
    {
        BuilderState.Offline => "offline",
        BuilderState.Idle => "idle",
        BuilderState.Building => "building",
        _ => "unknown",
    };

    public static string Channel(LogChannel channel) => channel switch
    {
        LogChannel.Stdout => "o",
        LogChannel.Stderr => "e",
        LogChannel.Header => "h",
        _ => "o",
    };

    public static string Kind(LogKind kind) => kind switch
    {
        LogKind.Stdio => "stdio",
        LogKind.Text => "text",
        LogKind.Html => "html",
        _ => "text",
    };

    /// <summary>The wire name of an event kind, e.g. <c>buildStarted</c>.</summary>
    public static string EventKind(StatusEventKinds kind)
    {
        var name = kind.ToString();
        return string.Concat(name[..1].ToLowerInvariant(), name.AsSpan(1));
    }

    /// <summary>Parses a comma-separated list of event kind names (camelCase or PascalCase).</summary>
    public static bool TryParseKinds(string text, out StatusEventKinds kinds, out string? bad)
    {
        kinds = StatusEventKinds.None;
        bad = null;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (string.Equals(part, "all", StringComparison.OrdinalIgnoreCase))
            {
                kinds |= StatusEventKinds.All;
                continue;
            }

            if (!Enum.TryParse<StatusEventKinds>(part, ignoreCase: true, out var kind) || kind is StatusEventKinds.None or StatusEventKinds.All
                || !Enum.IsDefined(kind) || char.IsDigit(part[0]))
            {
                bad = part;
                return false;
            }

            kinds |= kind;
        }

        return kinds != StatusEventKinds.None;
    }
}
