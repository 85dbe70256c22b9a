using System.Text.Json.Serialization;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>Source-generated serialization of every wire shape: no reflection, camelCase, nulls left out.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorDto))]
[JsonSerializable(typeof(StatusDto))]
[JsonSerializable(typeof(BuilderDto))]
[JsonSerializable(typeof(IReadOnlyList<BuilderDto>))]
[JsonSerializable(typeof(BuildListDto))]
[JsonSerializable(typeof(GridDto))]
[JsonSerializable(typeof(HostsDto))]
[JsonSerializable(typeof(BuildDetailDto))]
[JsonSerializable(typeof(LogDto))]
[JsonSerializable(typeof(LogLinesDto))]
[JsonSerializable(typeof(LogSearchDto))]
[JsonSerializable(typeof(LogFollowDto))]
[JsonSerializable(typeof(LogEndDto))]
[JsonSerializable(typeof(IReadOnlyList<WorkerDto>))]
[JsonSerializable(typeof(IReadOnlyList<RequestDto>))]
[JsonSerializable(typeof(StreamEventDto))]
[JsonSerializable(typeof(IReadOnlyList<LogLineDto>))]
internal sealed partial class WebJsonContext : JsonSerializerContext;
