using System.Diagnostics;
using BuildStatus.Storage.Testing.FreshProcess;
using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <content>Durability across dispose, reopen and a fresh process; initialization races; preparation; disposal.</content>
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>
    /// Every acknowledged batch is read back, field for field, by a store that a fresh process opens on the same
    /// directory after this process disposed its stores: a store that keeps data only in process memory fails.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task Reopen_InFreshProcess_ReadsEveryAcknowledgedBatch()
    {
        RequireDurable();
        var expected = await SeedDurableHistoryAsync();
        await CloseStoresAsync();

        var actual = await DumpInFreshProcessAsync(Directory);

        Assert.That(actual, Is.EqualTo(expected), "the fresh process must read what this one stored");
    }

    /// <summary>A new instance on the same directory, after the first was disposed, reads everything and continues the numbering.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task Reopen_AfterDispose_ReadsEverythingAndContinuesNumbers()
    {
        RequireDurable();
        var expected = await SeedDurableHistoryAsync();
        await CloseStoresAsync();

        var reopened = await OpenStoreAsync();

        Assert.That(await StoreDump.WriteAsync(reopened), Is.EqualTo(expected));
        Assert.That(await reopened.CreateBuildAsync(NewBuild("linux", 0)), Is.EqualTo(4));
    }

    /// <summary>Two instances initializing one fresh location at the same time both succeed, and the store works.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task InitializeAsync_TwoInstancesOnFreshLocationAtOnce_BothSucceed()
    {
        var location = Path.Combine(Directory, "fresh");
        System.IO.Directory.CreateDirectory(location);
        var first = CreateStore(location);
        _stores.Add(first);
        var second = CreateStore(location);
        _stores.Add(second);
        using var start = new Barrier(2);

        await Task.WhenAll(
            Task.Run(async () => { start.SignalAndWait(TimeSpan.FromMinutes(1)); await first.InitializeAsync(); }),
            Task.Run(async () => { start.SignalAndWait(TimeSpan.FromMinutes(1)); await second.InitializeAsync(); }));

        await first.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)] });
        var number = await second.CreateBuildAsync(NewBuild("linux", 0));
        if (SupportsSharedInstances)
        {
            Assert.That(number, Is.EqualTo(2));
            AssertSameBuild(await second.GetBuildAsync(new BuildKey("linux", 1)), NewBuild("linux", 1));
        }
        else
        {
            Assert.That(number, Is.EqualTo(1));
        }
    }

    /// <summary>
    /// Batches prepared ahead (<see cref="IBuildStore.PrepareAsync"/>), several at once, are applied as given when the
    /// same instances reach <see cref="IBuildStore.ApplyAsync"/>; preparing writes nothing.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task PrepareAsync_ThenApplyAsync_StoresThePreparedBatches()
    {
        var log = await SeedLogAsync();
        var first = new WriteBatch { LogChunks = [NewChunk(log, 0, 50)] };
        var second = new WriteBatch { LogChunks = [NewChunk(log, 50, 30)], Logs = [NewLog(log) with { LineCount = 80 }] };

        await Task.WhenAll(Store.PrepareAsync(first), Store.PrepareAsync(second));
        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Is.Empty, "preparing must not write");
        await Store.ApplyAsync(first);
        await Store.ApplyAsync(second);

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Is.EqualTo(NewChunk(log, 0, 80).Lines));
        Assert.That((await Store.GetLogAsync(log))!.LineCount, Is.EqualTo(80));
    }

    /// <summary>A batch prepared but then applied after another batch changed the log, or never prepared, is applied correctly.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_WithAndWithoutPrepareAsync_StoresTheSameLines()
    {
        var log = await SeedLogAsync();
        var prepared = new WriteBatch { LogChunks = [NewChunk(log, 20, 20)] };
        await Store.PrepareAsync(prepared);

        await Store.ApplyAsync(new WriteBatch { LogChunks = [NewChunk(log, 0, 20)] });
        await Store.ApplyAsync(prepared);
        await Store.ApplyAsync(prepared); // a retry: skipped whole

        Assert.That(await Store.ReadLogLinesAsync(log, 0, 100), Is.EqualTo(NewChunk(log, 0, 40).Lines));
    }

    /// <summary>The store implements <see cref="IDisposable"/> too, and disposing twice, either way, is harmless.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task Dispose_SynchronouslyAndTwice_IsHarmless()
    {
        var store = await OpenStoreAsync();
        Assert.That(store, Is.InstanceOf<IDisposable>(), "a service container disposed synchronously must be able to release the store");

        ((IDisposable)store).Dispose();
        ((IDisposable)store).Dispose();
        await store.DisposeAsync();

        if (IsDurable)
        {
            await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)] });
            await CloseStoresAsync();
            Assert.That(await (await OpenStoreAsync()).GetBuildAsync(new BuildKey("linux", 1)), Is.Not.Null);
        }
    }

    /// <summary>
    /// Opens the store on <paramref name="directory"/> in a fresh process and returns everything it reads. The default
    /// starts this assembly as a helper (<c>dotnet exec</c> with the test assembly's runtimeconfig and deps files),
    /// which creates this fixture type with its parameterless constructor and calls <see cref="CreateStore"/>. Override
    /// it when the fixture cannot be created that way, with an equivalent that opens the store outside this process.
    /// </summary>
    /// <param name="directory">The directory the store lives in.</param>
    /// <returns>The dump of the store, as the helper writes it.</returns>
    protected virtual async Task<string> DumpInFreshProcessAsync(string directory)
    {
        var testAssembly = GetType().Assembly.Location;
        var baseName = Path.ChangeExtension(testAssembly, null);
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var argument in new[] { "exec", "--runtimeconfig", baseName + ".runtimeconfig.json", "--depsfile", baseName + ".deps.json", typeof(Program).Assembly.Location, "dump", testAssembly, GetType().FullName!, directory })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("The fresh-process helper did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The fresh-process helper did not finish within 2 minutes.");
        }

        Assert.That(process.ExitCode, Is.Zero, $"The fresh-process helper failed: {await error}");
        return await output;
    }

    private void RequireDurable()
    {
        if (!IsDurable)
        {
            Assert.Ignore("The store does not claim persistence (IsDurable is false).");
        }
    }

    // Every kind of row, tricky text, finished and unfinished builds, a number allocated by CreateBuildAsync; returns
    // the store's dump once every batch is acknowledged.
    private async Task<string> SeedDurableHistoryAsync()
    {
        var log = await SeedLogAsync();
        await AppendLinesAsync(log, 0, 25, 10);
        var tricky = new LogKey("linux", 1, 1, 2);
        await Store.ApplyAsync(new WriteBatch
        {
            Builders = [new StoredBuilder("linux", TrickyStrings[0], [.. TrickyStrings])],
            Workers = [new StoredWorker("w1", "host", new Dictionary<string, string>(StringComparer.Ordinal) { ["os"] = TrickyStrings[1] }, IsConnected: true, T0.AddTicks(1234567))],
            Logs = [NewLog(tricky, "tricky")],
            LogChunks = [new StoredLogChunk(tricky, [.. TrickyStrings.Select((t, i) => new LogLine(i, LogChannel.Stderr, t))])],
        });
        var number = await Store.CreateBuildAsync(NewBuild("linux", 0) with { Reason = TrickyStrings[3] });
        await Store.ApplyAsync(new WriteBatch { Builds = [Finish(NewBuild("linux", number), T0.AddHours(1).AddTicks(10), BuildResult.Failure), NewBuild("linux", number + 1)] });
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("windows", 7, "host-b")] });
        return await StoreDump.WriteAsync(Store);
    }
}
