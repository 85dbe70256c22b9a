using System.Text.Json.Serialization;

// Compiled into each storage backend (linked from src/Shared), in the backend's own namespace.
#if BUILDSTATUS_POSTGRES
namespace BuildStatus.Storage.Postgres.Internal;
#else
namespace BuildStatus.Storage.Sqlite.Internal;
#endif

/// <summary>Source-generated JSON for the small list columns (tags, worker info, changes, users, URLs, statistics, and a build request's stamps and properties).</summary>
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, double>))]
[JsonSerializable(typeof(IReadOnlyList<BuildChange>))]
[JsonSerializable(typeof(IReadOnlyList<StepUrl>))]
[JsonSerializable(typeof(IReadOnlyList<SourceStamp>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, PropertyValue>))]
internal sealed partial class ColumnJsonContext : JsonSerializerContext
{
}
