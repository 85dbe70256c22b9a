using Npgsql;
using NpgsqlTypes;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// Positional parameters (<c>$1</c>, <c>$2</c>, ...) with their PostgreSQL types set, so a null needs no type
/// inference and the server never guesses. Strings go through <see cref="PgText"/>. Stateless.
/// </summary>
internal static class Parameters
{
    public static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)PgText.EncodeNullable(value) ?? DBNull.Value };

    /// <summary>Text that needs no escaping (JSON, which escapes every control character itself).</summary>
    public static NpgsqlParameter Json(string value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = value };

    public static NpgsqlParameter TextArray(string?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = PgText.EncodeNullable(values[i]);
        }

        return new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = values };
    }

    public static NpgsqlParameter IntArray(int[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, Value = values };

    public static NpgsqlParameter ShortArray(short[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint, Value = values };

    /// <summary>JSON texts (no escaping needed: JSON escapes every control character itself).</summary>
    public static NpgsqlParameter JsonArray(string[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = values };

    public static NpgsqlParameter LongArray(long[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = values };

    public static NpgsqlParameter NullableLongArray(long?[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = values };

    public static NpgsqlParameter NullableIntArray(int?[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, Value = values };

    public static NpgsqlParameter NullableShortArray(short?[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint, Value = values };

    public static NpgsqlParameter BoolArray(bool[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean, Value = values };

    public static NpgsqlParameter BytesArray(byte[][] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea, Value = values };

    public static NpgsqlParameter Int(int value) => new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = value };

    public static NpgsqlParameter Long(long value) => new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = value };

    public static NpgsqlParameter Long(long? value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Short(short value) => new NpgsqlParameter<short> { NpgsqlDbType = NpgsqlDbType.Smallint, TypedValue = value };

    public static NpgsqlParameter Short(short? value) => new() { NpgsqlDbType = NpgsqlDbType.Smallint, Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Bool(bool value) => new NpgsqlParameter<bool> { NpgsqlDbType = NpgsqlDbType.Boolean, TypedValue = value };

    public static NpgsqlParameter Bytes(byte[] value) => new NpgsqlParameter<byte[]> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = value };

    public static NpgsqlParameter Time(DateTimeOffset value) => Long(PgTime.ToStored(value));

    public static NpgsqlParameter Time(DateTimeOffset? value) => Long(PgTime.ToStored(value));

    public static NpgsqlParameter Result(BuildResult? value) => Short((short?)value);
}
