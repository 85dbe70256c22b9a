using System.Text.Json;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>Typed JSON helpers over <see cref="SqliteJsonContext"/>.</summary>
/// <remarks>
/// Empty lists and maps, which most rows have, are written as the same constant the serializer would produce
/// (<c>[]</c>, <c>{}</c>) without running it.
/// </remarks>
internal static class Json
{
    private const string EmptyList = "[]";
    private const string EmptyMap = "{}";

    public static string Write(IReadOnlyList<string> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyListString);

    public static string Write(IReadOnlyDictionary<string, string> value) => value.Count == 0 ? EmptyMap : JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyDictionaryStringString);

    public static string Write(IReadOnlyDictionary<string, double> value) => value.Count == 0 ? EmptyMap : JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyDictionaryStringDouble);

    public static string Write(IReadOnlyList<BuildChange> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyListBuildChange);

    public static string Write(IReadOnlyList<StepUrl> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyListStepUrl);

    public static string Write(IReadOnlyList<SourceStamp> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyListSourceStamp);

    public static string Write(IReadOnlyDictionary<string, PropertyValue> value) => value.Count == 0 ? EmptyMap : JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyDictionaryStringPropertyValue);

    public static IReadOnlyList<SourceStamp> ReadStamps(string json) => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListSourceStamp) ?? [];

    public static IReadOnlyDictionary<string, PropertyValue> ReadProperties(string json)
        => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyDictionaryStringPropertyValue) ?? new Dictionary<string, PropertyValue>();

    public static IReadOnlyList<string> ReadStrings(string json) => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListString) ?? [];

    public static IReadOnlyDictionary<string, string> ReadStringMap(string json) =>
        JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyDictionaryStringString) ?? new Dictionary<string, string>(StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, double> ReadNumberMap(string json) =>
        JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyDictionaryStringDouble) ?? new Dictionary<string, double>(StringComparer.Ordinal);

    public static IReadOnlyList<BuildChange> ReadChanges(string json) => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListBuildChange) ?? [];

    public static IReadOnlyList<StepUrl> ReadUrls(string json) => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListStepUrl) ?? [];
}
