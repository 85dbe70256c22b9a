using System.Diagnostics;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.Bench;

/// <summary>
/// Workload W1 through the library as a CI host would drive it: write N builds, query them, read everything back
/// and compare with what was written. Callable as a library (the smoke test does) or from <see cref="Program"/>.
/// </summary>
public static class Workload
{
    public static async Task<WorkloadResult> RunAsync(WorkloadOptions options, TextWriter? progress = null, CancellationToken cancellationToken = default)
    {
        var result = new WorkloadResult
        {
            Builds = options.Builds,
            Store = options.Store,
            Concurrency = options.Concurrency,
            Synchronous = options.Store == "sqlite" ? options.Synchronous.ToString().ToLowerInvariant() : options.Store == "postgres" ? "server default (synchronous_commit)" : null,
            Compression = options.Store is "sqlite" or "postgres" ? options.Compression.ToString().ToLowerInvariant() : null,
        };

        var temp = options.DatabasePath is null;
        var path = options.Store == "postgres"
            ? options.SharedSchema ?? PostgresBench.NewSchema("bench")
            : options.DatabasePath ?? Path.Combine(Path.GetTempPath(), $"buildstatus-bench-{Guid.NewGuid():N}.db");
        if (options.Store == "sqlite")
        {
            DeleteDatabase(path);
        }

        try
        {
            if (options.WarmupBuilds > 0)
            {
                // JIT and tiered compilation warm-up for both contenders, so neither pays it in its timed phase
                // (the baseline runs second and would otherwise reuse the library's warm SQLite and codec code).
                progress?.WriteLine($"warm-up: {options.WarmupBuilds} builds through the library{(options.Baseline ? " and the baseline" : "")} ...");
                var warm = new WorkloadOptions
                {
                    Builds = options.WarmupBuilds, Store = options.Store, Synchronous = options.Synchronous, Compression = options.Compression,
                    Concurrency = options.Concurrency, QueryIterations = 20, VerifyBuilds = 0, WarmupBuilds = 0, Baseline = options.Baseline,
                    PostgresConnectionString = options.PostgresConnectionString,
                };
                var warmPath = options.Store == "postgres"
                    ? PostgresBench.NewSchema("bench_warmup")
                    : Path.Combine(Path.GetTempPath(), $"buildstatus-bench-warmup-{Guid.NewGuid():N}.db");
                try
                {
                    await RunLibraryAsync(warm, warmPath, new WorkloadResult(), null, cancellationToken);
                    if (options.Baseline && options.Store == "postgres")
                    {
                        await RawNpgsqlBaseline.RunAsync(warm, WorkloadText.LinesPerLog, cancellationToken);
                        if (options.BaselineDurableStarts)
                        {
                            await RawNpgsqlBaseline.RunAsync(warm, WorkloadText.LinesPerLog, cancellationToken, durableStarts: true);
                        }
                    }
                    else if (options.Baseline)
                    {
                        await RawSqliteBaseline.RunAsync(warm, WorkloadText.LinesPerLog, cancellationToken);
                    }
                }
                finally
                {
                    if (options.Store == "postgres")
                    {
                        await PostgresBench.DropSchemaAsync(options.PostgresConnectionString!, warmPath);
                    }
                    else
                    {
                        DeleteDatabase(warmPath);
                    }
                }
            }

            await RunLibraryAsync(options, path, result, progress, cancellationToken);
            if (options.Store == "sqlite")
            {
                (result.LogChunks, var chunkedLines) = CountChunks(path);
                result.DatabaseBytes = DatabaseBytes(path);
                if (options.Baseline)
                {
                    // Chunk the baseline like the library did in this run (its chunking depends on how far the writer lags).
                    var linesPerChunk = result.LogChunks == 0 ? WorkloadText.LinesPerLog : (int)Math.Round((double)chunkedLines / result.LogChunks);
                    progress?.WriteLine($"baseline: raw Microsoft.Data.Sqlite, {linesPerChunk} lines per chunk ...");
                    result.Baseline = await RawSqliteBaseline.RunAsync(options, linesPerChunk, cancellationToken);
                    result.LibraryToBaselineRatio = result.Write.LogMegabytesPerSecond / result.Baseline.Write.LogMegabytesPerSecond;
                }
            }
            else if (options.Store == "postgres")
            {
                (result.LogChunks, var chunkedLines) = await PostgresBench.CountChunksAsync(options.PostgresConnectionString!, path);
                result.DatabaseBytes = await PostgresBench.SchemaBytesAsync(options.PostgresConnectionString!, path);
                if (options.Baseline)
                {
                    var linesPerChunk = result.LogChunks == 0 ? WorkloadText.LinesPerLog : (int)Math.Round((double)chunkedLines / result.LogChunks);
                    progress?.WriteLine($"baseline: raw Npgsql, {linesPerChunk} lines per chunk ...");
                    result.Baseline = await RawNpgsqlBaseline.RunAsync(options, linesPerChunk, cancellationToken);
                    result.LibraryToBaselineRatio = result.Write.LogMegabytesPerSecond / result.Baseline.Write.LogMegabytesPerSecond;
                    if (options.BaselineDurableStarts)
                    {
                        progress?.WriteLine("baseline: raw Npgsql with durable build starts ...");
                        result.BaselineDurableStarts = await RawNpgsqlBaseline.RunAsync(options, linesPerChunk, cancellationToken, durableStarts: true);
                        result.LibraryToBaselineDurableStartsRatio = result.Write.LogMegabytesPerSecond / result.BaselineDurableStarts.Write.LogMegabytesPerSecond;
                    }
                }
            }
        }
        finally
        {
            if (temp && options.Store == "sqlite")
            {
                DeleteDatabase(path);
            }
            else if (options.Store == "postgres" && options.SharedSchema is null)
            {
                await PostgresBench.DropSchemaAsync(options.PostgresConnectionString!, path);
            }
        }

        return result;
    }

    private static async Task RunLibraryAsync(WorkloadOptions options, string path, WorkloadResult result, TextWriter? progress, CancellationToken cancellationToken)
    {
        // The same store UseSqlite / UseInMemoryStorage register, wrapped to time its write calls.
        IBuildStore inner = options.Store == "sqlite"
            ? new SqliteBuildStore(new SqliteStorageOptions
            {
                ConnectionString = $"Data Source={path}",
                Synchronous = options.Synchronous,
                Compression = options.Compression,
            })
            : options.Store == "postgres" ? PostgresBench.CreateStore(options, path)
            : options.Store == "memory" ? new InMemoryBuildStore() : new NullStore();
        var timing = new TimingStore(inner);
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseStore(_ => timing).Configure(o => o.HostName = options.HostName));

        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();
        await host.StartAsync(cancellationToken);
        try
        {
            for (var b = 0; b < WorkloadText.BuilderCount; b++)
            {
                host.AddBuilder(WorkloadText.BuilderName(b));
            }

            progress?.WriteLine($"write: {options.Builds} builds, concurrency {options.Concurrency}, store {options.Store} ...");
            using var sampler = new WorkingSetSampler();
            timing.Reset();
            var gcPause = GC.GetTotalPauseDuration();
            var gcCounts = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var allocated = GC.GetTotalAllocatedBytes(precise: false);
            var numbers = await WriteAsync(host, options, result, cancellationToken);
            result.Write.GcPauseSeconds = (GC.GetTotalPauseDuration() - gcPause).TotalSeconds;
            result.Write.GcCollections = $"{GC.CollectionCount(0) - gcCounts.Item1}/{GC.CollectionCount(1) - gcCounts.Item2}/{GC.CollectionCount(2) - gcCounts.Item3}";
            result.Write.AllocatedMB = (GC.GetTotalAllocatedBytes(precise: false) - allocated) / 1e6;
            result.Write.StoreApplySeconds = timing.ApplySeconds;
            result.Write.StoreCreateBuildSeconds = timing.CreateBuildSeconds;
            (result.Write.StoreCreateBuildP50, result.Write.StoreCreateBuildP90, result.Write.StoreCreateBuildP99) = timing.CreateBuildPercentiles();
            result.Write.Batches = timing.Batches;
            result.Write.BatchRows = timing.Rows;
            result.PeakWorkingSetWriteMB = sampler.PeakMB;
            result.MedianWorkingSetWriteMB = sampler.PercentileMB(0.5);
            result.P99WorkingSetWriteMB = sampler.PercentileMB(0.99);
            GC.Collect();
            result.GcHeapAfterWriteMB = GC.GetTotalMemory(forceFullCollection: true) / 1e6;

            if (options.Store != "null")
            {
                progress?.WriteLine("verify ...");
                await Verifier.VerifyAsync(host.History, options, numbers, result, cancellationToken);

                progress?.WriteLine($"queries: {options.QueryIterations} runs each ...");
                await QueryAsync(host.History, options, numbers, result, cancellationToken);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        using var self = System.Diagnostics.Process.GetCurrentProcess();
        result.PeakWorkingSetMB = self.PeakWorkingSet64 / 1e6;
    }

    private static async Task<int[]> WriteAsync(IBuildStatusHost host, WorkloadOptions options, WorkloadResult result, CancellationToken cancellationToken)
    {
        var n = options.Builds;
        var numbers = new int[n];
        var next = -1;
        var stopwatch = Stopwatch.StartNew();

        async Task RunBuildsAsync()
        {
            // One buffer per worker, rewritten for every append as a host reading a pipe would: the library copies the
            // text before the append's task completes, so no string is made per append or per line.
            var text = new char[WorkloadText.AppendLength];

            // This worker's finish tasks not yet seen complete, oldest first. Completed ones are awaited and dropped as
            // it goes, so the runner holds only the tasks still in flight, not one per build of the whole run (200,000
            // tasks would be 14 MB of the runner's own in a memory comparison between history lengths).
            var finishing = new Queue<Task>();
            while (true)
            {
                while (finishing.TryPeek(out var oldest) && oldest.IsCompleted)
                {
                    await finishing.Dequeue();
                }

                var i = Interlocked.Increment(ref next);
                if (i >= n)
                {
                    while (finishing.TryDequeue(out var task))
                    {
                        await task;
                    }

                    return;
                }

                var build = await host.StartBuildAsync(WorkloadText.BuilderName(WorkloadText.BuilderOf(i)), cancellationToken: cancellationToken);
                numbers[i] = build.Number;
                for (var s = 0; s < WorkloadText.StepsPerBuild; s++)
                {
                    var step = build.AddStep(WorkloadText.StepName(s));
                    step.Start();
                    var log = step.AddLog("stdio");
                    for (var line = 0; line < WorkloadText.LinesPerLog; line += WorkloadText.LinesPerAppend)
                    {
                        WorkloadText.WriteAppendText(text, i, s, line);
                        await log.AppendAsync(LogChannel.Stdout, text.AsMemory(), cancellationToken);
                    }

                    log.Finish();
                    step.Finish(WorkloadText.StepResult(i, s));
                }

                // Every 50th build ends in Exception; the others take the worst of their steps, computed by the library.
                var explicitResult = i % 50 == 49 ? BuildResult.Exception : (BuildResult?)null;
                finishing.Enqueue(build.FinishAsync(explicitResult, cancellationToken: cancellationToken));
            }
        }

        var workers = new Task[options.Concurrency];
        for (var k = 0; k < workers.Length; k++)
        {
            workers[k] = Task.Run(RunBuildsAsync, cancellationToken);
        }

        await Task.WhenAll(workers);
        await host.FlushAsync(cancellationToken);
        stopwatch.Stop();
        result.Write = WritePhaseResult.From(stopwatch.Elapsed.TotalSeconds, n);
        return numbers;
    }

    private static async Task QueryAsync(IBuildHistory history, WorkloadOptions options, int[] numbers, WorkloadResult result, CancellationToken cancellationToken)
    {
        var random = new Random(42);
        var iterations = options.QueryIterations;
        var warmup = Math.Min(50, iterations);

        var last50 = new List<double>(iterations);
        for (var k = -warmup; k < iterations; k++)
        {
            var name = WorkloadText.BuilderName(random.Next(WorkloadText.BuilderCount));
            var started = Stopwatch.GetTimestamp();
            var page = await history.QueryBuildsAsync(new BuildQuery(name) { Limit = 50 }, cancellationToken);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (options.SharedSchema is null && page.Builds.Count != Math.Min(50, CountOf(options.Builds, name)))
            {
                result.Errors.Add($"last 50 of {name}: {page.Builds.Count} builds");
            }

            if (k >= 0)
            {
                last50.Add(ms);
            }
        }

        result.Queries["last_50_builds"] = QueryStats.From(last50);

        var getBuild = new List<double>(iterations);
        var steps = new List<double>(iterations);
        var logLines = new List<double>(iterations);
        for (var k = -warmup; k < iterations; k++)
        {
            var i = random.Next(options.Builds);
            var name = WorkloadText.BuilderName(WorkloadText.BuilderOf(i));

            var started = Stopwatch.GetTimestamp();
            var build = await history.GetBuildAsync(name, numbers[i], cancellationToken);
            var buildMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

            started = Stopwatch.GetTimestamp();
            var stepList = await build!.GetStepsAsync(cancellationToken);
            var stepsMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

            var s = random.Next(WorkloadText.StepsPerBuild);
            var logs = await stepList[s].GetLogsAsync(cancellationToken);
            started = Stopwatch.GetTimestamp();
            var lines = await logs[0].ReadLinesAsync(cancellationToken: cancellationToken);
            var linesMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (stepList.Count != WorkloadText.StepsPerBuild || lines.Count != WorkloadText.LinesPerLog)
            {
                result.Errors.Add($"query of build {i}: {stepList.Count} steps, {lines.Count} lines");
            }

            if (k >= 0)
            {
                getBuild.Add(buildMs);
                steps.Add(stepsMs);
                logLines.Add(linesMs);
            }
        }

        result.Queries["get_build"] = QueryStats.From(getBuild);
        result.Queries["build_steps"] = QueryStats.From(steps);
        result.Queries["log_all_lines"] = QueryStats.From(logLines);
    }

    internal static int CountOf(int builds, string builderName)
    {
        var b = int.Parse(builderName.AsSpan("builder-".Length), System.Globalization.CultureInfo.InvariantCulture);
        return builds / WorkloadText.BuilderCount + (b < builds % WorkloadText.BuilderCount ? 1 : 0);
    }

    private static (long Chunks, long Lines) CountChunks(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), coalesce(sum(line_count), 0) FROM log_chunks";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    internal static long DatabaseBytes(string path)
    {
        long total = 0;
        foreach (var file in new[] { path, path + "-wal" })
        {
            if (File.Exists(file))
            {
                total += new FileInfo(file).Length;
            }
        }

        return total;
    }

    internal static void DeleteDatabase(string path)
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            if (File.Exists(file))
            {
                File.Delete(file);
            }
        }
    }
}

/// <summary>
/// Samples the process working set every 20 ms (PeakWorkingSet64 covers the whole process lifetime): the peak, and a
/// histogram by MB (constant size, so the sampler's own memory does not grow with the run) for its percentiles.
/// </summary>
internal sealed class WorkingSetSampler : IDisposable
{
    private readonly Timer _timer;
    private readonly Lock _histogramLock = new();
    private readonly long[] _histogram = new long[65536]; // samples per whole MB, guarded by _histogramLock
    private long _peak;

    public WorkingSetSampler()
    {
        Sample();
        _timer = new Timer(_ => Sample(), null, 20, 20);
    }

    public double PeakMB
    {
        get
        {
            Sample();
            return Interlocked.Read(ref _peak) / 1e6;
        }
    }

    /// <summary>Gets the working set that the given share of the samples were at or below, in whole MB.</summary>
    public double PercentileMB(double q)
    {
        lock (_histogramLock)
        {
            var total = _histogram.Sum();
            var want = Math.Max(1, (long)Math.Ceiling(q * total));
            long seen = 0;
            for (var mb = 0; mb < _histogram.Length; mb++)
            {
                seen += _histogram[mb];
                if (seen >= want)
                {
                    return mb;
                }
            }

            return _histogram.Length - 1;
        }
    }

    private void Sample()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        var ws = self.WorkingSet64;
        long seen;
        while ((seen = Interlocked.Read(ref _peak)) < ws && Interlocked.CompareExchange(ref _peak, ws, seen) != seen)
        {
        }

        lock (_histogramLock)
        {
            _histogram[Math.Clamp(ws / 1_000_000, 0, _histogram.Length - 1)]++;
        }
    }

    public void Dispose() => _timer.Dispose();
}
