using BuildStatus.Core.Tests.Support;
using BuildStatus.Persistence;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.Core.Tests.Persistence;

/// <summary>The follow stream when a log counts more lines than storage can return: it waits between reads and never spins.</summary>
[TestFixture]
public sealed class FollowAsyncTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task FollowAsync_FinishedStoredLogShortOfItsLineCount_YieldsReadableLinesThenThrows()
    {
        var store = new HidingStore(new InMemoryBuildStore(), readableLines: 50);
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 0, store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 100; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        await build.FinishAsync();
        var stored = (await (await (await t.Host.History.GetBuildAsync("b", build.Number))!.GetStepsAsync())[0].GetLogsAsync())[0];

        var seen = new List<long>();
        using var timeout = new CancellationTokenSource(Limit);
        var error = Assert.ThrowsAsync<BuildStoreException>(async () =>
        {
            await foreach (var line in stored.FollowAsync(0, timeout.Token))
            {
                seen.Add(line.Number);
            }
        });

        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 50).Select(i => (long)i)));
            Assert.That(error!.Message, Does.Contain("100 lines").And.Contain("lines 50 to 99"));
            Assert.That(store.Reads, Is.LessThanOrEqualTo(3), "two reads: the lines, then one empty read after the row said finished");
        });
    }

    [Test]
    public async Task FollowAsync_UnfinishedStoredLogAheadOfItsLines_WaitsPollIntervalBetweenEmptyReads()
    {
        var inner = new InMemoryBuildStore();
        var key = await SeedLogAsync(inner, lineCount: 100, chunkLines: 50, finished: false);
        var store = new HidingStore(inner, readableLines: long.MaxValue);
        var time = new SignallingTimeProvider();
        await using var t = await TestHost.StartAsync(o => o.RecoverOnStart = false, store, time);
        var stored = (await (await (await t.Host.History.GetBuildAsync(key.BuilderName, key.BuildNumber))!.GetStepsAsync())[0].GetLogsAsync())[0];

        using var stop = new CancellationTokenSource();
        var seen = 0;
        var follower = Task.Run(async () =>
        {
            await foreach (var line in stored.FollowAsync(0, stop.Token))
            {
                seen++;
            }
        });

        // The first wait comes after the lines and one empty read; each later one after exactly one more read.
        await time.NextPollAsync().WaitAsync(Limit);
        var readsAtFirstWait = store.Reads;
        time.Advance(PersistentLog.PollInterval);
        await time.NextPollAsync().WaitAsync(Limit);
        var readsAtSecondWait = store.Reads;
        await stop.CancelAsync();
        Assert.That(async () => await follower.WaitAsync(Limit), Throws.InstanceOf<OperationCanceledException>());

        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(50));
            Assert.That(readsAtFirstWait, Is.EqualTo(2));
            Assert.That(readsAtSecondWait, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task FollowAsync_LiveLogWhoseCommittedLinesAreUnreadable_WaitsThenThrowsOnceFinished()
    {
        var store = new HidingStore(new InMemoryBuildStore(), readableLines: 50);
        var time = new SignallingTimeProvider();
        await using var t = await TestHost.StartAsync(o => o.GroupCommitDelay = TimeSpan.Zero, store, time);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 100; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        await t.Host.FlushAsync();
        var seen = new List<long>();
        var follower = Task.Run(async () =>
        {
            await foreach (var line in log.Persistent.FollowAsync(0))
            {
                seen.Add(line.Number);
            }
        });

        await time.NextPollAsync().WaitAsync(Limit);
        var readsAtWait = store.Reads;
        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync();
        time.Advance(PersistentLog.PollInterval);

        Assert.That(async () => await follower.WaitAsync(Limit), Throws.InstanceOf<BuildStoreException>().With.Message.Contain("lines 50 to 99"));
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 50).Select(i => (long)i)));
            Assert.That(readsAtWait, Is.EqualTo(2), "the lines, then one empty read before waiting");
            Assert.That(store.Reads, Is.EqualTo(3), "one more read after the wait, which finds the log finished");
        });
    }

    [Test]
    public async Task FollowAsync_FinishedStoredLogWithEveryLine_EndsWithoutWaiting()
    {
        var inner = new InMemoryBuildStore();
        var key = await SeedLogAsync(inner, lineCount: 50, chunkLines: 50, finished: true);
        var store = new HidingStore(inner, readableLines: long.MaxValue);
        await using var t = await TestHost.StartAsync(o => o.RecoverOnStart = false, store);
        var stored = (await (await (await t.Host.History.GetBuildAsync(key.BuilderName, key.BuildNumber))!.GetStepsAsync())[0].GetLogsAsync())[0];

        var count = 0;
        await foreach (var line in stored.FollowAsync(0, new CancellationTokenSource(Limit).Token))
        {
            count++;
        }

        Assert.That((count, store.Reads), Is.EqualTo((50, 2)));
    }

    // Stores build 1 of builder "b" with one step and one log whose row counts lineCount lines, of which only the
    // first chunkLines are stored.
    private static async Task<LogKey> SeedLogAsync(IBuildStore store, long lineCount, int chunkLines, bool finished)
    {
        await store.InitializeAsync();
        var build = new StoredBuild("b", 1, "other-host", null, [], [], [], null, new Dictionary<string, PropertyValue>(), DateTimeOffset.UnixEpoch, null, "building", null);
        var stepKey = new StepKey("b", 1, 1);
        var step = new StoredStep(stepKey, "compile", "running", DateTimeOffset.UnixEpoch, null, null, [], new Dictionary<string, double>(), IsHidden: false);
        var key = new LogKey("b", 1, 1, 1);
        var lines = Enumerable.Range(0, chunkLines).Select(i => new LogLine(i, LogChannel.Stdout, $"line {i}")).ToArray();
        await store.ApplyAsync(new WriteBatch
        {
            Builders = [new StoredBuilder("b", null, [])],
            Builds = [build],
            Steps = [step],
            Logs = [new StoredLog(key, "stdio", LogKind.Stdio, finished, lineCount, lineCount * 7)],
            LogChunks = [new StoredLogChunk(key, lines)],
        });
        return key;
    }

    /// <summary>A store that returns no log line numbered at or above a limit, and counts line reads.</summary>
    private sealed class HidingStore(IBuildStore inner, long readableLines) : DelegatingBuildStore(inner)
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public override async Task<IReadOnlyList<LogLine>> ReadLogLinesAsync(LogKey log, long firstLine, int maxLines, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            var lines = await base.ReadLogLinesAsync(log, firstLine, maxLines, cancellationToken);
            return lines.Where(l => l.Number < readableLines).ToArray();
        }
    }

    /// <summary>A fake clock that tells when someone starts waiting <see cref="PersistentLog.PollInterval"/> on it.</summary>
    private sealed class SignallingTimeProvider() : FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero))
    {
        private readonly SemaphoreSlim _polls = new(0);

        /// <summary>Completes when a poll wait starts that no earlier call has returned for.</summary>
        public Task NextPollAsync() => _polls.WaitAsync();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime == PersistentLog.PollInterval)
            {
                _polls.Release();
            }

            return timer;
        }
    }
}
