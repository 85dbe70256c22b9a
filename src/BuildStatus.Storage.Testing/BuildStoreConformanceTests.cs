using System.Globalization;
using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <summary>
/// The conformance suite every <see cref="IBuildStore"/> must pass. A backend runs it with a one-line subclass that
/// implements <see cref="CreateStore"/>; each test gets a fresh store in a fresh temporary directory, and tests run
/// in parallel. A store that claims persistence (<see cref="IsDurable"/>) must also keep every acknowledged batch
/// across dispose and reopen, in this process and in a fresh one that the suite starts.
/// </summary>
/// <remarks>
/// Mark the subclass <c>[TestFixture]</c> even though the attribute is inherited: an assembly whose code does not
/// use NUnit itself does not reference <c>nunit.framework</c>, and the NUnit adapter then finds no tests in it.
/// </remarks>
/// <example>
/// <code>
/// [TestFixture]
/// public sealed class SqliteConformanceTests : BuildStoreConformanceTests
/// {
///     protected override IBuildStore CreateStore(string directory) => new SqliteBuildStore(Path.Combine(directory, "builds.db"));
/// }
/// </code>
/// </example>
[TestFixture]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public abstract partial class BuildStoreConformanceTests
{
    /// <summary>A fixed instant the tests' times are relative to (not the clock, so runs are repeatable).</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, 0, TimeSpan.Zero);

    // Strings a backend must store verbatim: non-Latin scripts, surrogate pairs, quotes, SQL and LIKE
    // metacharacters, backslashes, control characters ('\r' too, but no '\n': they are also log lines, which never
    // hold one), NUL, empty and padded text.
    private static readonly string[] TrickyStrings =
    [
        "日本語のビルド 构建 빌드",
        "emoji 🚀🔥👩‍💻 done",
        "it's \"quoted\" `back`",
        "'; DROP TABLE builds; --",
        "100% _done_ [x] *?",
        @"C:\path\to\file \\server\share \n",
        "tab\there\r\rcarriage\u0001\u001b[31mred\u001b[0m\u007f\r",
        "nul\0inside\0",
        string.Empty,
        "  padded  ",
    ];

    private readonly List<IBuildStore> _stores = [];
    private string? _directory;
    private IBuildStore? _store;

    /// <summary>Gets whether two stores created on the same directory share their data (several hosts on one database).
    /// The default is <see langword="false"/>, which skips the tests that need it.</summary>
    protected virtual bool SupportsSharedInstances => false;

    /// <summary>
    /// Gets whether the store claims persistence: every batch it acknowledged is read back by a new instance on the
    /// same directory, after this one was disposed, in another process. The default is <see langword="true"/>; a
    /// store that keeps history only in process memory (such as <c>InMemoryBuildStore</c>) overrides it with
    /// <see langword="false"/>, which skips the durability tests.
    /// </summary>
    protected virtual bool IsDurable => true;

    /// <summary>Gets the store under test, created and initialized for the current test.</summary>
    protected IBuildStore Store => _store ?? throw new InvalidOperationException("The store is created in SetUpAsync.");

    /// <summary>Gets the current test's temporary directory, deleted after the test.</summary>
    protected string Directory => _directory ?? throw new InvalidOperationException("The directory is created in SetUpAsync.");

    /// <summary>Creates a fresh temporary directory and an initialized store in it.</summary>
    /// <returns>A task that completes when the store is ready.</returns>
    [SetUp]
    public async Task SetUpAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "buildstatus-conformance-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(_directory);
        _store = await OpenStoreAsync();
    }

    /// <summary>Disposes every store the test opened and deletes the temporary directory, whatever the outcome.</summary>
    /// <returns>A task that completes when everything is cleaned up.</returns>
    [TearDown]
    public async Task TearDownAsync()
    {
        try
        {
            foreach (var store in _stores)
            {
                await store.DisposeAsync();
            }
        }
        finally
        {
            _stores.Clear();
            DeleteDirectory(_directory);
        }
    }

    /// <summary>Creates the store under test in <paramref name="directory"/>. Called once per test, once more by
    /// the tests that open a second instance or reopen the store, and in a fresh process by
    /// <see cref="Reopen_InFreshProcess_ReadsEveryAcknowledgedBatch"/>: there on a fixture created with its parameterless
    /// constructor and no set-up, so the store must be opened from <paramref name="directory"/> alone (or override
    /// <see cref="DumpInFreshProcessAsync"/>).</summary>
    /// <param name="directory">A fresh, empty directory that belongs to the current test and is deleted after it.</param>
    /// <returns>A new, uninitialized store.</returns>
    protected abstract IBuildStore CreateStore(string directory);

    /// <summary>Calls <see cref="CreateStore"/> for the fresh-process helper (<c>FreshProcess/Program.cs</c>).</summary>
    internal IBuildStore CreateStoreInFreshProcess(string directory) => CreateStore(directory);

    /// <summary>Disposes every store the test opened so far (the next <see cref="OpenStoreAsync"/> opens a new one).</summary>
    /// <returns>A task that completes when they are disposed.</returns>
    protected async Task CloseStoresAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _stores.Clear();
        _store = null;
    }

    /// <summary>Creates and initializes another store on the current test's directory; it is disposed after the test.</summary>
    /// <returns>The store.</returns>
    protected async Task<IBuildStore> OpenStoreAsync()
    {
        var store = CreateStore(Directory);
        _stores.Add(store);
        await store.InitializeAsync();
        return store;
    }

    private static void DeleteDirectory(string? directory)
    {
        // A backend may release its files a moment after disposal (connection pools); retry briefly.
        for (var attempt = 0; directory is not null && System.IO.Directory.Exists(directory); attempt++)
        {
            try
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(50);
            }
            catch (UnauthorizedAccessException) when (attempt < 20)
            {
                Thread.Sleep(50);
            }
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static StoredBuild NewBuild(string builderName, int number, string hostName = "host-a") => new(
        builderName,
        number,
        hostName,
        "push",
        [new SourceStamp("https://example.org/repo.git", "main", "rev" + Text(number))],
        [],
        [],
        "worker-1",
        new Dictionary<string, PropertyValue>(StringComparer.Ordinal),
        T0.AddMinutes(number),
        null,
        "building",
        null);

    private static StoredBuild Finish(StoredBuild build, DateTimeOffset finishedAt, BuildResult result = BuildResult.Success) =>
        build with { FinishedAt = finishedAt, Result = result, StateText = "finished" };

    private static StoredStep NewStep(StepKey key, string name = "compile") =>
        new(key, name, "running", T0, null, null, [], new Dictionary<string, double>(StringComparer.Ordinal), IsHidden: false);

    private static StoredLog NewLog(LogKey key, string name = "stdio") => new(key, name, LogKind.Stdio, IsFinished: false, 0, 0);

    private static StoredLogChunk NewChunk(LogKey log, long firstLine, int count)
    {
        var lines = new LogLine[count];
        for (var i = 0; i < count; i++)
        {
            var number = firstLine + i;
            lines[i] = new LogLine(number, (LogChannel)(number % 3), "line " + number.ToString(CultureInfo.InvariantCulture));
        }

        return new StoredLogChunk(log, lines);
    }

    // Stores a build with one step (number 1) and one log (number 1) in it, and returns the log's key.
    private async Task<LogKey> SeedLogAsync(string builderName = "linux", int buildNumber = 1)
    {
        var build = NewBuild(builderName, buildNumber);
        var step = new StepKey(builderName, buildNumber, 1);
        var log = new LogKey(builderName, buildNumber, 1, 1);
        await Store.ApplyAsync(new WriteBatch { Builds = [build], Steps = [NewStep(step)], Logs = [NewLog(log)] });
        return log;
    }

    // Appends count lines to a log in chunks of chunkSize, one batch per chunk.
    private async Task AppendLinesAsync(LogKey log, long firstLine, int count, int chunkSize)
    {
        for (var offset = 0; offset < count; offset += chunkSize)
        {
            var chunk = NewChunk(log, firstLine + offset, Math.Min(chunkSize, count - offset));
            await Store.ApplyAsync(new WriteBatch { LogChunks = [chunk] });
        }
    }

    private static void AssertSameBuild(StoredBuild? actual, StoredBuild expected)
    {
        Assert.That(actual, Is.Not.Null, $"Build {expected.Key} was not found.");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(actual!.BuilderName, Is.EqualTo(expected.BuilderName));
            Assert.That(actual.Number, Is.EqualTo(expected.Number));
            Assert.That(actual.HostName, Is.EqualTo(expected.HostName));
            Assert.That(actual.Reason, Is.EqualTo(expected.Reason));
            Assert.That(actual.SourceStamps, Is.EqualTo(expected.SourceStamps));
            Assert.That(actual.Changes, Is.EqualTo(expected.Changes));
            Assert.That(actual.ResponsibleUsers, Is.EqualTo(expected.ResponsibleUsers));
            Assert.That(actual.WorkerName, Is.EqualTo(expected.WorkerName));
            Assert.That(actual.Properties, Is.EquivalentTo(expected.Properties));
            AssertSameInstant(actual.StartedAt, expected.StartedAt);
            AssertSameInstant(actual.FinishedAt, expected.FinishedAt);
            Assert.That(actual.StateText, Is.EqualTo(expected.StateText));
            Assert.That(actual.Result, Is.EqualTo(expected.Result));
        }
    }

    private static void AssertSameStep(StoredStep? actual, StoredStep expected)
    {
        Assert.That(actual, Is.Not.Null, $"Step {expected.Key} was not found.");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(actual!.Key, Is.EqualTo(expected.Key));
            Assert.That(actual.Name, Is.EqualTo(expected.Name));
            Assert.That(actual.StateText, Is.EqualTo(expected.StateText));
            AssertSameInstant(actual.StartedAt, expected.StartedAt);
            AssertSameInstant(actual.FinishedAt, expected.FinishedAt);
            Assert.That(actual.Result, Is.EqualTo(expected.Result));
            Assert.That(actual.Urls, Is.EqualTo(expected.Urls));
            Assert.That(actual.Statistics, Is.EquivalentTo(expected.Statistics));
            Assert.That(actual.IsHidden, Is.EqualTo(expected.IsHidden));
        }
    }

    private static void AssertSameWorker(StoredWorker? actual, StoredWorker expected)
    {
        Assert.That(actual, Is.Not.Null, $"Worker {expected.Name} was not found.");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(actual!.Name, Is.EqualTo(expected.Name));
            Assert.That(actual.Host, Is.EqualTo(expected.Host));
            Assert.That(actual.Info, Is.EquivalentTo(expected.Info));
            Assert.That(actual.IsConnected, Is.EqualTo(expected.IsConnected));
            AssertSameInstant(actual.LastSeen, expected.LastSeen);
        }
    }

    private static void AssertSameBuilder(StoredBuilder? actual, StoredBuilder expected)
    {
        Assert.That(actual, Is.Not.Null, $"Builder {expected.Name} was not found.");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(actual!.Name, Is.EqualTo(expected.Name));
            Assert.That(actual.Description, Is.EqualTo(expected.Description));
            Assert.That(actual.Tags, Is.EqualTo(expected.Tags));
        }
    }

    // The same instant, to the microsecond (finer ticks truncated, as StorageTime.Truncate does), and returned with
    // offset zero (the IBuildStore contract).
    private static void AssertSameInstant(DateTimeOffset? actual, DateTimeOffset? expected)
    {
        if (expected is not { } e)
        {
            Assert.That(actual, Is.Null);
            return;
        }

        Assert.That(actual, Is.Not.Null, $"Expected {e:O}, got null.");
        var a = actual!.Value;
        Assert.That(a.UtcTicks, Is.EqualTo(StorageTime.Truncate(e).UtcTicks), $"Expected the instant {StorageTime.Truncate(e):O}, got {a:O}.");
        Assert.That(a.Offset, Is.EqualTo(TimeSpan.Zero), $"Expected offset zero, got {a:O}.");
    }

    private static int[] Numbers(IEnumerable<StoredBuild> builds) => [.. builds.Select(b => b.Number)];
}
