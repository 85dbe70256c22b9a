using System.Text;

namespace BuildStatus.Internal;

/// <summary>Argument checks and text clean-up shared by the public entry points.</summary>
internal static class Guard
{
    /// <summary>The longest name (builder, worker, step, log, property) accepted.</summary>
    public const int MaxNameLength = 200;

    /// <summary>Checks a name: not null, not empty or white space, at most 200 characters, no control characters.</summary>
    public static string Name(string? name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The name must not be empty or white space.", paramName);
        }

        if (name.Length > MaxNameLength)
        {
            throw new ArgumentException($"The name is {name.Length} characters long; at most {MaxNameLength} are allowed.", paramName);
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                throw new ArgumentException($"The name contains the control character U+{(int)c:X4}; names must be printable.", paramName);
            }
        }

        return Text(name);
    }

    /// <summary>Replaces lone UTF-16 surrogates with U+FFFD so the text survives UTF-8 storage unchanged.</summary>
    public static string Text(string text)
    {
        var span = text.AsSpan();
        var first = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0)
        {
            return text;
        }

        StringBuilder? builder = null;
        for (var i = first; i < span.Length; i++)
        {
            var c = span[i];
            if (!char.IsSurrogate(c))
            {
                builder?.Append(c);
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                builder?.Append(c).Append(span[i + 1]);
                i++;
                continue;
            }

            if (builder is null)
            {
                builder = new StringBuilder(text.Length);
                builder.Append(span[..i]);
            }

            builder.Append('\uFFFD');
        }

        return builder?.ToString() ?? text;
    }

    /// <summary>Cleans optional text.</summary>
    public static string? OptionalText(string? text) => text is null ? null : Text(text);
}
