using System.Text.Json;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>Typed JSON helpers over <see cref="SqliteJsonContext"/>.</summary>
internal static class Json
{
    public static string Write(IReadOnlyList<string> value) => JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyListString);

    public static string Write(IReadOnlyDictionary<string, string> value) => JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyDictionaryStringString);

    public static string Write(IReadOnlyDictionary<string, double> value) => JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyDictionaryStringDouble);

    public static string Write(IReadOnlyList<BuildChange> value) => JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyListBuildChange);

    public static string Write(IReadOnlyList<StepUrl> value) => JsonSerializer.Serialize(value, SqliteJsonContext.Default.IReadOnlyListStepUrl);

    public static IReadOnlyList<string> ReadStrings(string json) => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListString) ?? [];

    public static IReadOnlyDictionary<string, string> ReadStringMap(string json) =>
        JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyDictionaryStringString) ?? new Dictionary<string, string>(StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, double> ReadNumberMap(string json) =>
        JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyDictionaryStringDouble) ?? new Dictionary<string, double>(StringComparer.Ordinal);

    public static IReadOnlyList<BuildChange> ReadChanges(string json) => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListBuildChange) ?? [];

    public static IReadOnlyList<StepUrl> ReadUrls(string json) => JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListStepUrl) ?? [];
}
