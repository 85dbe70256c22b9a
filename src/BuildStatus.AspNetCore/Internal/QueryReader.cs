using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>Reads query parameters and remembers the first bad one, for a 400 that says what was wrong.</summary>
internal sealed class QueryReader(IQueryCollection query)
{
    public string? Error { get; private set; }

    public string? String(string name)
    {
        var values = query[name];
        if (values.Count > 1)
        {
            Fail($"'{name}' is given {values.Count} times; give it once.");
        }

        var value = values.Count == 0 ? null : values[0];
        return string.IsNullOrEmpty(value) ? null : value;
    }

    public int Int(string name, int defaultValue, int min, int max) => (int)Long(name, defaultValue, min, max);

    public int? OptionalInt(string name, int min, int max)
    {
        var text = String(name);
        return text is null ? null : Int(name, 0, min, max);
    }

    public long Long(string name, long defaultValue, long min, long max)
    {
        var text = String(name);
        if (text is null)
        {
            return defaultValue;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Fail($"'{name}' must be a whole number from {min} to {max}, not '{Clip(text)}'.");
            return defaultValue;
        }

        return value;
    }

    public bool? Bool(string name)
    {
        var text = String(name);
        if (text is null)
        {
            return null;
        }

        if (!bool.TryParse(text, out var value))
        {
            Fail($"'{name}' must be true or false, not '{Clip(text)}'.");
            return null;
        }

        return value;
    }

    public DateTimeOffset? Time(string name)
    {
        var text = String(name);
        if (text is null)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            Fail($"'{name}' must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not '{Clip(text)}'.");
            return null;
        }

        return value;
    }

    public IReadOnlySet<string>? List(string name)
    {
        var text = String(name);
        return text is null
            ? null
            : new HashSet<string>(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
    }

    public IReadOnlySet<BuildResult>? Results(string name)
    {
        var text = String(name);
        if (text is null)
        {
            return null;
        }

        var results = new HashSet<BuildResult>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Names.TryParseResult(part, out var result))
            {
                Fail($"'{name}' must list results among success, warnings, failure, skipped, exception, retry, cancelled; '{Clip(part)}' is none of them.");
                return null;
            }

            results.Add(result);
        }

        return results;
    }

    public StatusEventKinds Kinds(string name, StatusEventKinds whenAbsent)
    {
        var text = String(name);
        if (text is null)
        {
            return whenAbsent;
        }

        if (!Names.TryParseKinds(text, out var kinds, out var bad))
        {
            Fail($"'{name}' must list event kinds such as buildStarted,buildFinished (or all); '{Clip(bad ?? text)}' is not one.");
            return StatusEventKinds.All;
        }

        return kinds;
    }

    /// <summary>Reads <c>hosts</c>-like choices: <see langword="true"/> for <c>all</c>, <see langword="false"/> for <c>this</c> or when absent.</summary>
    public bool AllHosts(string name)
    {
        var text = String(name);
        if (text is null || string.Equals(text, "this", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (string.Equals(text, "all", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        Fail($"'{name}' must be 'this' (this host's events only, the default) or 'all' (every host's), not '{Clip(text)}'.");
        return false;
    }

    public void Fail(string message) => Error ??= message;

    private static string Clip(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "…");
}
