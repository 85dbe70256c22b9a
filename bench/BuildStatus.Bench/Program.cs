using System.Globalization;
using System.Text.Json;

namespace BuildStatus.Bench;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        WorkloadOptions options;
        try
        {
            options = WorkloadOptions.Parse(args);
        }
        catch (HelpRequestedException)
        {
            Console.WriteLine(WorkloadOptions.Usage);
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(WorkloadOptions.Usage);
            return 2;
        }

        if (options.CrossHostLatency)
        {
            return await CrossHostLatency.RunAsync(options.PostgresConnectionString!, options.Builds, Console.Out);
        }

#if DEBUG
        Console.Error.WriteLine("warning: a Debug build; run with -c Release for figures worth quoting.");
#endif
        using var gcEvents = GcEventProbe.StartIfRequested();
        var result = await Workload.RunAsync(options, options.Print ? Console.Out : null);
        gcEvents?.Print(Console.Out);
        result.Command = "BuildStatus.Bench " + string.Join(' ', args);
        if (options.Print)
        {
            Print(result, Console.Out);
        }

        if (options.JsonPath is { } json)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        }

        if (!result.VerificationOk)
        {
            Console.Error.WriteLine($"READ-BACK MISMATCH ({result.Errors.Count}):");
            foreach (var error in result.Errors)
            {
                Console.Error.WriteLine("  " + error);
            }

            return 1;
        }

        return 0;
    }

    public static void Print(WorkloadResult r, TextWriter o)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine(string.Create(c, $"W1  builds={r.Builds}  store={r.Store}  synchronous={r.Synchronous ?? "-"}  compression={r.Compression ?? "-"}  concurrency={r.Concurrency}  ({r.Machine})"));
        o.WriteLine(string.Create(c, $"{"write",-22} {"wall s",9} {"builds/s",10} {"lines/s",12} {"log MB/s",9}"));
        Row("library", r.Write);
        if (r.Write.StoreApplySeconds is { } apply)
        {
            o.WriteLine(string.Create(c, $"  library time in the store: ApplyAsync {apply:0.000} s in {r.Write.Batches} batches ({r.Write.BatchRows} rows), CreateBuildAsync {r.Write.StoreCreateBuildSeconds:0.000} s (per call p50 {r.Write.StoreCreateBuildP50:0.00} ms, p90 {r.Write.StoreCreateBuildP90:0.00}, p99 {r.Write.StoreCreateBuildP99:0.00}); GC: {r.Write.AllocatedMB:0} MB allocated, {r.Write.GcCollections} collections (gen0/1/2), {r.Write.GcPauseSeconds:0.000} s paused"));
        }

        if (r.Baseline is { } b)
        {
            Row(r.Store == "postgres" ? "raw Npgsql baseline" : "raw SQLite baseline", b.Write);
            o.WriteLine(string.Create(c, $"library MB/s / baseline MB/s = {r.LibraryToBaselineRatio:0.00}"));
            o.WriteLine(string.Create(c, $"  baseline: {b.Schema}; {b.LinesPerChunk} lines per chunk (the library's average in this run), {b.BuildsPerTransaction} builds per transaction; db {b.DatabaseBytes / 1e6:0.0} MB"));
        }

        if (r.BaselineDurableStarts is { } d)
        {
            Row("raw, durable starts", d.Write);
            o.WriteLine(string.Create(c, $"library MB/s / durable-starts baseline MB/s = {r.LibraryToBaselineDurableStartsRatio:0.00}"));
            o.WriteLine(string.Create(c, $"  durable-starts baseline: as above, but each build's row (number allocated by the database) committed on its own before the build goes on, on a second connection; the group transaction finishes the builds"));
        }

        o.WriteLine();
        o.WriteLine(string.Create(c, $"{"query",-22} {"p50 ms",9} {"p95 ms",9} {"p99 ms",9} {"max ms",9} {"runs",6}"));
        foreach (var (name, q) in r.Queries)
        {
            o.WriteLine(string.Create(c, $"{name,-22} {q.P50,9:0.000} {q.P95,9:0.000} {q.P99,9:0.000} {q.Max,9:0.000} {q.Count,6}"));
        }

        o.WriteLine();
        o.WriteLine(string.Create(c, $"db {r.DatabaseBytes / 1e6:0.0} MB ({r.LogChunks} log chunks); peak working set {r.PeakWorkingSetMB:0.0} MB (write phase {r.PeakWorkingSetWriteMB:0.0} MB, median {r.MedianWorkingSetWriteMB:0} MB, p99 {r.P99WorkingSetWriteMB:0} MB of 20 ms samples); GC heap after write {r.GcHeapAfterWriteMB:0.0} MB"));
        o.WriteLine(r.Store == "null" ? "read-back: none (--store null discards writes)" : string.Create(c, $"read-back: {(r.VerificationOk ? "OK" : "MISMATCH")} ({r.VerifiedBuilds} builds, {r.VerifiedLines} lines compared, plus the last 50 of every builder)"));

        void Row(string name, WritePhaseResult w) =>
            o.WriteLine(string.Create(c, $"{name,-22} {w.WallSeconds,9:0.000} {w.BuildsPerSecond,10:0.0} {w.LogLinesPerSecond,12:0} {w.LogMegabytesPerSecond,9:0.00}"));
    }
}
