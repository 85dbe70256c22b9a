using System.Text.Json;

// Compiled into each storage backend (linked from src/Shared), in the backend's own namespace.
#if BUILDSTATUS_POSTGRES
namespace BuildStatus.Storage.Postgres.Internal;
#else
namespace BuildStatus.Storage.Sqlite.Internal;
#endif

/// <summary>Typed JSON helpers over <see cref="ColumnJsonContext"/>.</summary>
/// <remarks>
/// Empty lists and maps, which most rows have, are written as the same constant the serializer would produce
/// (<c>[]</c>, <c>{}</c>) without running it.
/// </remarks>
internal static class Json
{
    private const string EmptyList = "[]";
    private const string EmptyMap = "{}";

    public static string Write(IReadOnlyList<string> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, ColumnJsonContext.Default.IReadOnlyListString);

    public static string Write(IReadOnlyDictionary<string, string> value) => value.Count == 0 ? EmptyMap : JsonSerializer.Serialize(value, ColumnJsonContext.Default.IReadOnlyDictionaryStringString);

    public static string Write(IReadOnlyDictionary<string, double> value) => value.Count == 0 ? EmptyMap : JsonSerializer.Serialize(value, ColumnJsonContext.Default.IReadOnlyDictionaryStringDouble);

    public static string Write(IReadOnlyList<BuildChange> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, ColumnJsonContext.Default.IReadOnlyListBuildChange);

    public static string Write(IReadOnlyList<StepUrl> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, ColumnJsonContext.Default.IReadOnlyListStepUrl);

    public static string Write(IReadOnlyList<SourceStamp> value) => value.Count == 0 ? EmptyList : JsonSerializer.Serialize(value, ColumnJsonContext.Default.IReadOnlyListSourceStamp);

    public static string Write(IReadOnlyDictionary<string, PropertyValue> value) => value.Count == 0 ? EmptyMap : JsonSerializer.Serialize(value, ColumnJsonContext.Default.IReadOnlyDictionaryStringPropertyValue);

    public static IReadOnlyList<SourceStamp> ReadStamps(string json) => JsonSerializer.Deserialize(json, ColumnJsonContext.Default.IReadOnlyListSourceStamp) ?? [];

    public static IReadOnlyDictionary<string, PropertyValue> ReadProperties(string json) =>
        JsonSerializer.Deserialize(json, ColumnJsonContext.Default.IReadOnlyDictionaryStringPropertyValue) ?? new Dictionary<string, PropertyValue>(StringComparer.Ordinal);

    public static IReadOnlyList<string> ReadStrings(string json) => JsonSerializer.Deserialize(json, ColumnJsonContext.Default.IReadOnlyListString) ?? [];

    public static IReadOnlyDictionary<string, string> ReadStringMap(string json) =>
        JsonSerializer.Deserialize(json, ColumnJsonContext.Default.IReadOnlyDictionaryStringString) ?? new Dictionary<string, string>(StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, double> ReadNumberMap(string json) =>
        JsonSerializer.Deserialize(json, ColumnJsonContext.Default.IReadOnlyDictionaryStringDouble) ?? new Dictionary<string, double>(StringComparer.Ordinal);

    public static IReadOnlyList<BuildChange> ReadChanges(string json) => JsonSerializer.Deserialize(json, ColumnJsonContext.Default.IReadOnlyListBuildChange) ?? [];

    public static IReadOnlyList<StepUrl> ReadUrls(string json) => JsonSerializer.Deserialize(json, ColumnJsonContext.Default.IReadOnlyListStepUrl) ?? [];
}
