using System.Buffers;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// PostgreSQL <c>text</c> cannot hold U+0000, and the SPI stores every string verbatim, NUL included. Strings are
/// stored escaped with U+0001 as the escape character: U+0000 becomes U+0001 '0' and U+0001 becomes U+0001 '1'. The
/// mapping is one-to-one, so equality (keys, filters, unique constraints) means the same on escaped text, and a
/// string with neither character, nearly every one, is stored as it is. Stateless.
/// </summary>
internal static class PgText
{
    private const char Escape = '\u0001';
    private static readonly SearchValues<char> Special = SearchValues.Create("\0\u0001");

    public static string Encode(string value)
    {
        var first = value.AsSpan().IndexOfAny(Special);
        if (first < 0)
        {
            return value;
        }

        var builder = new System.Text.StringBuilder(value.Length + 8);
        builder.Append(value, 0, first);
        for (var i = first; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                builder.Append(Escape).Append('0');
            }
            else if (c == Escape)
            {
                builder.Append(Escape).Append('1');
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    public static string? EncodeNullable(string? value) => value is null ? null : Encode(value);

    public static string Decode(string value)
    {
        var first = value.IndexOf(Escape, StringComparison.Ordinal);
        if (first < 0)
        {
            return value;
        }

        var builder = new System.Text.StringBuilder(value.Length);
        builder.Append(value, 0, first);
        for (var i = first; i < value.Length; i++)
        {
            var c = value[i];
            if (c == Escape && i + 1 < value.Length)
            {
                builder.Append(value[++i] == '0' ? '\0' : Escape);
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    public static string? DecodeNullable(string? value) => value is null ? null : Decode(value);
}
