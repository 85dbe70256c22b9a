using System.Text.Json.Serialization;

namespace BuildStatus.Bench;

/// <summary>The write phase: from the first build start to the final durable flush.</summary>
public sealed class WritePhaseResult
{
    [JsonPropertyName("wall_s")] public double WallSeconds { get; set; }
    [JsonPropertyName("builds_per_s")] public double BuildsPerSecond { get; set; }
    [JsonPropertyName("log_lines_per_s")] public double LogLinesPerSecond { get; set; }
    [JsonPropertyName("log_MB_per_s")] public double LogMegabytesPerSecond { get; set; }
    [JsonPropertyName("log_bytes")] public long LogBytes { get; set; }
    [JsonPropertyName("store_apply_s")] public double? StoreApplySeconds { get; set; }
    [JsonPropertyName("store_create_build_s")] public double? StoreCreateBuildSeconds { get; set; }
    [JsonPropertyName("store_create_build_p50_ms")] public double? StoreCreateBuildP50 { get; set; }
    [JsonPropertyName("store_create_build_p90_ms")] public double? StoreCreateBuildP90 { get; set; }
    [JsonPropertyName("store_create_build_p99_ms")] public double? StoreCreateBuildP99 { get; set; }
    [JsonPropertyName("gc_pause_s")] public double? GcPauseSeconds { get; set; }
    [JsonPropertyName("gc_collections_gen0_1_2")] public string? GcCollections { get; set; }
    [JsonPropertyName("allocated_MB")] public double? AllocatedMB { get; set; }
    [JsonPropertyName("batches")] public long? Batches { get; set; }
    [JsonPropertyName("batch_rows")] public long? BatchRows { get; set; }

    public static WritePhaseResult From(double seconds, int builds) => new()
    {
        WallSeconds = seconds,
        BuildsPerSecond = builds / seconds,
        LogLinesPerSecond = (double)builds * WorkloadText.StepsPerBuild * WorkloadText.LinesPerLog / seconds,
        LogMegabytesPerSecond = builds * WorkloadText.LogBytesPerBuild / seconds / 1e6,
        LogBytes = builds * WorkloadText.LogBytesPerBuild,
    };
}

public sealed class QueryStats
{
    [JsonPropertyName("p50_ms")] public double P50 { get; set; }
    [JsonPropertyName("p95_ms")] public double P95 { get; set; }
    [JsonPropertyName("p99_ms")] public double P99 { get; set; }
    [JsonPropertyName("max_ms")] public double Max { get; set; }
    [JsonPropertyName("count")] public int Count { get; set; }

    public static QueryStats From(List<double> samples)
    {
        samples.Sort();
        double At(double q) => samples[Math.Clamp((int)Math.Ceiling(q * samples.Count) - 1, 0, samples.Count - 1)];
        return new QueryStats { P50 = At(0.50), P95 = At(0.95), P99 = At(0.99), Max = samples[^1], Count = samples.Count };
    }
}

public sealed class BaselineResult
{
    [JsonPropertyName("write")] public WritePhaseResult Write { get; set; } = new();
    [JsonPropertyName("db_bytes")] public long DatabaseBytes { get; set; }
    [JsonPropertyName("lines_per_chunk")] public int LinesPerChunk { get; set; }
    [JsonPropertyName("builds_per_transaction")] public int BuildsPerTransaction { get; set; }
    [JsonPropertyName("durable_starts")] public bool DurableStarts { get; set; }
    [JsonPropertyName("schema")] public string Schema { get; set; } = "";
}

public sealed class WorkloadResult
{
    [JsonPropertyName("workload")] public string Workload { get; set; } = "W1";
    [JsonPropertyName("date")] public string Date { get; set; } = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
    [JsonPropertyName("machine")] public string Machine { get; set; } = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}";
    [JsonPropertyName("command")] public string Command { get; set; } = "";
    [JsonPropertyName("builds")] public int Builds { get; set; }
    [JsonPropertyName("store")] public string Store { get; set; } = "";
    [JsonPropertyName("synchronous")] public string? Synchronous { get; set; }
    [JsonPropertyName("compression")] public string? Compression { get; set; }
    [JsonPropertyName("concurrency")] public int Concurrency { get; set; }
    [JsonPropertyName("write")] public WritePhaseResult Write { get; set; } = new();
    [JsonPropertyName("queries")] public Dictionary<string, QueryStats> Queries { get; set; } = [];
    [JsonPropertyName("db_bytes")] public long DatabaseBytes { get; set; }
    [JsonPropertyName("log_chunks")] public long LogChunks { get; set; }
    [JsonPropertyName("peak_working_set_MB")] public double PeakWorkingSetMB { get; set; }
    [JsonPropertyName("peak_working_set_write_MB")] public double PeakWorkingSetWriteMB { get; set; }

    [JsonPropertyName("median_working_set_write_MB")] public double MedianWorkingSetWriteMB { get; set; }

    [JsonPropertyName("p99_working_set_write_MB")] public double P99WorkingSetWriteMB { get; set; }
    [JsonPropertyName("gc_heap_after_write_MB")] public double GcHeapAfterWriteMB { get; set; }
    [JsonPropertyName("verified_builds")] public int VerifiedBuilds { get; set; }
    [JsonPropertyName("verified_lines")] public long VerifiedLines { get; set; }
    [JsonPropertyName("verification_ok")] public bool VerificationOk => Errors.Count == 0;
    [JsonPropertyName("errors")] public List<string> Errors { get; set; } = [];
    [JsonPropertyName("baseline")] public BaselineResult? Baseline { get; set; }
    [JsonPropertyName("library_to_baseline_MB_per_s")] public double? LibraryToBaselineRatio { get; set; }
    [JsonPropertyName("baseline_durable_starts")] public BaselineResult? BaselineDurableStarts { get; set; }
    [JsonPropertyName("library_to_baseline_durable_starts_MB_per_s")] public double? LibraryToBaselineDurableStartsRatio { get; set; }
}
