using BuildStatus.Core.Tests.Support;
using BuildStatus.Process;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Process;

[TestFixture]
public sealed class LogTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AppendAsync_SplitsLinesKeepsPartialsPerChannelAndDropsCr()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendAsync(LogChannel.Stdout, "a\r\nb");
        await log.AppendAsync(LogChannel.Stderr, "err");
        await log.AppendAsync(LogChannel.Stdout, "c\n\nd\n");
        await log.AppendAsync(LogChannel.Stderr, "or\n");
        await log.AppendLineAsync(LogChannel.Header, "exit 0");

        Assert.That(log.Tail.Select(l => (l.Channel, l.Text)), Is.EqualTo(new[]
        {
            (LogChannel.Stdout, "a"),
            (LogChannel.Stdout, "bc"),
            (LogChannel.Stdout, string.Empty),
            (LogChannel.Stdout, "d"),
            (LogChannel.Stderr, "error"),
            (LogChannel.Header, "exit 0"),
        }));
        Assert.That(log.ByteCount, Is.EqualTo(1 + 2 + 0 + 1 + 5 + 6));
        await build.FinishAsync();
        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 100);
        Assert.That(stored.Select(l => l.Text), Is.EqualTo(log.Tail.Select(l => l.Text)));
    }

    [Test]
    public async Task Tail_IsBoundedToLogTailLines()
    {
        await using var t = await TestHost.StartAsync(o => o.LogTailLines = 5);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 100; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        Assert.That(log.Tail.Select(l => l.Number), Is.EqualTo(new long[] { 95, 96, 97, 98, 99 }));
        Assert.That(log.LineCount, Is.EqualTo(100));
        await build.FinishAsync();
    }

    [Test]
    public async Task AppendAsync_LoneSurrogates_AreReplacedSoTextSurvivesStorage()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendLineAsync(LogChannel.Stdout, "bad \uD800 half, good \uD83D\uDE00, bad \uDC00");
        await build.FinishAsync();

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 10);
        Assert.That(stored.Single().Text, Is.EqualTo("bad \uFFFD half, good \uD83D\uDE00, bad \uFFFD"));
    }

    [Test]
    public async Task MaxLogBytes_KeepsHeadMarkerAndTail()
    {
        await using var t = await TestHost.StartAsync(o => { o.MaxLogBytes = 100; o.MaxLogTailBytes = 30; });
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 100; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i:D4}"); // 9 bytes each
        }

        await build.FinishAsync();

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 1000);
        var texts = stored.Select(l => l.Text).ToArray();
        Assert.That(texts.Take(11), Is.EqualTo(Enumerable.Range(0, 11).Select(i => $"line {i:D4}")), "the head: 11 lines of 9 bytes fit in 100");
        Assert.That(texts[11], Does.Contain("omitted").And.Contain("MaxLogBytes"));
        Assert.That(stored[11].Channel, Is.EqualTo(LogChannel.Header));
        Assert.That(texts.Skip(12), Is.EqualTo(new[] { "line 0097", "line 0098", "line 0099" }), "the tail: 30 bytes");
        Assert.That(stored.Select(l => l.Number), Is.EqualTo(Enumerable.Range(0, stored.Count).Select(i => (long)i)), "stored numbering has no gap");
        Assert.That(log.LineCount, Is.EqualTo(100), "live status counts every line");
    }

    [Test]
    public async Task StoredChunks_RespectLineAndByteLimits()
    {
        var recording = new RecordingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => { o.LogChunkMaxLines = 10; o.LogChunkMaxBytes = 1024; }, recording);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 35; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"{i}");
        }

        await log.AppendLineAsync(LogChannel.Stdout, new string('z', 3000));
        await build.FinishAsync();

        var chunks = recording.Chunks;
        Assert.That(chunks.All(c => c.Lines.Count <= 10), Is.True);
        Assert.That(chunks.Where(c => c.Lines.Count > 1).All(c => c.Lines.Sum(l => l.Text.Length) <= 1024), Is.True);
        Assert.That(chunks.SelectMany(c => c.Lines).Select(l => l.Number), Is.EqualTo(Enumerable.Range(0, 36).Select(i => (long)i)));
    }

    [Test]
    public async Task FollowAsync_YieldsStoredThenLiveLines_NoGapNoDuplicate_EndsAtFinish()
    {
        await using var t = await TestHost.StartAsync();
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 1500; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        await t.Host.FlushAsync();
        var follower = Task.Run(async () =>
        {
            var seen = new List<LogLine>();
            await foreach (var line in log.Persistent.FollowAsync(100))
            {
                seen.Add(line);
            }

            return seen;
        });

        var writer = Task.Run(async () =>
        {
            for (var i = 1500; i < 3000; i++)
            {
                await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
                if (i % 100 == 0)
                {
                    await Task.Yield();
                }
            }

            log.Finish();
        });
        await writer;
        step.Finish(BuildResult.Success);
        await build.FinishAsync();

        var result = await follower.WaitAsync(Limit);
        Assert.That(result.Select(l => l.Number), Is.EqualTo(Enumerable.Range(100, 2900).Select(i => (long)i)));
        Assert.That(result.Select(l => l.Text), Is.EqualTo(Enumerable.Range(100, 2900).Select(i => $"line {i}")));
    }

    [Test]
    public async Task FollowAsync_OfFinishedStoredLog_ReadsAllAndEnds()
    {
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 0);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendAsync(LogChannel.Stdout, "x\ny\n");
        await build.FinishAsync();

        var stored = await (await (await t.Host.History.GetBuildAsync("b", 1))!.GetStepsAsync())[0].GetLogsAsync();
        var lines = new List<string>();
        await foreach (var line in stored[0].FollowAsync().WithCancellation(new CancellationTokenSource(Limit).Token))
        {
            lines.Add(line.Text);
        }

        Assert.That(lines, Is.EqualTo(new[] { "x", "y" }));
    }

    [Test]
    public async Task AppendAsync_BadArguments_Throw()
    {
        await using var t = await TestHost.StartAsync();
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(async () => await log.AppendAsync(LogChannel.Stdout, (string)null!))!.ParamName, Is.EqualTo("text"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.AppendAsync((LogChannel)9, "x"))!.ParamName, Is.EqualTo("channel"));
        Assert.That(Assert.Throws<ArgumentException>(() => step.AddLog("stdio"))!.ParamName, Is.EqualTo("name"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => log.Persistent.ReadLinesAsync(-1))!.ParamName, Is.EqualTo("firstLine"));
        await build.FinishAsync();
    }

    [Test]
    public async Task AppendAsync_OneHugeLineWithinMaxLineLength_IsStoredWhole()
    {
        await using var t = await TestHost.StartAsync(o => o.MaxLineLength = 8 * 1024 * 1024);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        var huge = new string('h', 5 * 1024 * 1024);

        await log.AppendLineAsync(LogChannel.Stdout, huge);
        await build.FinishAsync().WaitAsync(Limit);

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 10);
        Assert.That(stored.Single().Text, Has.Length.EqualTo(huge.Length));
    }

    [Test]
    public async Task AppendAsync_Memory_CallerReusesItsBufferAfterTheTask_NothingChanges()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        var buffer = new char[64];

        await log.AppendAsync(LogChannel.Stdout, Fill(buffer, "first\r\nsecond\npart"));
        Fill(buffer, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
        await log.AppendAsync(LogChannel.Stdout, Fill(buffer, "ial\nthird\n"));
        Array.Fill(buffer, '#');

        Assert.That(log.Tail.Select(l => l.Text), Is.EqualTo(new[] { "first", "second", "partial", "third" }));
        Assert.That(log.ByteCount, Is.EqualTo(5 + 6 + 7 + 5));
        await build.FinishAsync();
        Array.Fill(buffer, '!');

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 100);
        Assert.That(stored.Select(l => (l.Number, l.Text)), Is.EqualTo(new[] { (0L, "first"), (1L, "second"), (2L, "partial"), (3L, "third") }));
    }

    [Test]
    public async Task AppendAsync_Memory_WaitingForQueueSpace_CopiesTheTextBeforeTheTaskCompletes()
    {
        var store = new FaultyStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => (o.MaxQueueBytes, o.MaxLineLength) = (64 * 1024, 1024 * 1024), store);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        store.Stall();
        await log.AppendAsync(LogChannel.Stdout, new string('y', 70 * 1024) + "\n");
        var buffer = "waited\n".ToCharArray();

        var waiting = log.AppendAsync(LogChannel.Stdout, buffer.AsMemory());
        Assert.That(waiting.IsCompleted, Is.False, "the queue is full");
        store.Release();
        await waiting.AsTask().WaitAsync(Limit);
        Array.Fill(buffer, 'Z');
        await build.FinishAsync().WaitAsync(Limit);

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 1, 10);
        Assert.That(stored.Select(l => l.Text), Is.EqualTo(new[] { "waited" }));
    }

    [Test]
    public async Task AppendAsync_SurrogatePairSplitAcrossAppends_IsJoined()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendAsync(LogChannel.Stdout, "rocket \uD83D");
        await log.AppendAsync(LogChannel.Stdout, "\uDE80 lone \uD800".AsMemory());
        await log.AppendAsync(LogChannel.Stdout, "\n");

        Assert.That(log.Tail.Single().Text, Is.EqualTo("rocket \uD83D\uDE80 lone \uFFFD"));
        Assert.That(log.ByteCount, Is.EqualTo(7 + 4 + 6 + 3));
        await build.FinishAsync();
        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 10);
        Assert.That(stored.Single().Text, Is.EqualTo("rocket \uD83D\uDE80 lone \uFFFD"));
    }

    [Test]
    public async Task AppendLineAsync_JoinsThePartialLineAndSplitsNewlines_LikeAppendWithATrailingNewline()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendAsync(LogChannel.Stderr, "head ");
        await log.AppendLineAsync(LogChannel.Stderr, "tail\r");
        await log.AppendLineAsync(LogChannel.Stdout, "a\r\nb\n");
        await log.AppendLineAsync(LogChannel.Header, string.Empty);

        Assert.That(log.Tail.Select(l => (l.Number, l.Channel, l.Text)), Is.EqualTo(new[]
        {
            (0L, LogChannel.Stderr, "head tail"),
            (1L, LogChannel.Stdout, "a"),
            (2L, LogChannel.Stdout, "b"),
            (3L, LogChannel.Stdout, string.Empty),
            (4L, LogChannel.Header, string.Empty),
        }));
        await build.FinishAsync();
    }

    [Test]
    public async Task Tail_OfFinishedLog_IsTheSameAsBeforeFinish_AndHoldsNoPooledArraysOnceStored()
    {
        await using var t = await TestHost.StartAsync(o => o.LogTailLines = 10);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 95; i++)
        {
            await log.AppendLineAsync((LogChannel)(i % 3), $"line {i} ü");
        }

        await log.AppendAsync(LogChannel.Stdout, "unfinished");
        var before = log.Tail;
        Assert.That(before.Select(l => l.Number), Is.EqualTo(Enumerable.Range(85, 10).Select(i => (long)i)));
        Assert.That(((Log)log).PooledBytes, Is.GreaterThan(0));

        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);

        var after = log.Tail;
        Assert.That(after.Take(9), Is.EqualTo(before.Skip(1)));
        Assert.That(after[^1], Is.EqualTo(new LogLine(95, LogChannel.Stdout, "unfinished")), "finishing keeps the partial line");
        Assert.That(log.Tail, Is.EqualTo(after), "decoded again on each read");
        Assert.That(((Log)log).PooledBytes, Is.Zero, "a finished, stored log gives its pooled arrays back");
    }

    [Test]
    public async Task Tail_WithLogTailLinesZero_IsEmptyBeforeAndAfterFinish()
    {
        await using var t = await TestHost.StartAsync(o => o.LogTailLines = 0);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await log.AppendAsync(LogChannel.Stdout, "a\nb\n");

        Assert.That(log.Tail, Is.Empty);
        await build.FinishAsync();
        Assert.That(log.Tail, Is.Empty);
        Assert.That(log.LineCount, Is.EqualTo(2));
    }

    [Test]
    public async Task LogChunkEvents_CarryEveryAppendedLine_EvenWhenTheAppendIsLargerThanTheTail()
    {
        await using var t = await TestHost.StartAsync(o => o.LogTailLines = 2);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        var events = new List<LogChunk>();
        using var cts = new CancellationTokenSource(Limit);
        var stream = t.Host.WatchAsync(new StatusEventFilter { Kinds = StatusEventKinds.LogChunk | StatusEventKinds.LogFinished }, cts.Token);
        var reader = Task.Run(async () =>
        {
            await foreach (var e in stream)
            {
                if (e is LogFinished)
                {
                    break;
                }

                events.Add((LogChunk)e);
            }
        });

        await log.AppendAsync(LogChannel.Stdout, "1\n2\n3\n4\n5\n");
        await log.AppendAsync(LogChannel.Stderr, "é\npartial");
        await log.AppendAsync(LogChannel.Stdout, string.Empty);
        log.Finish();
        await reader.WaitAsync(Limit);

        Assert.That(events.Select(e => e.Lines.Select(l => (l.Number, l.Channel, l.Text)).ToArray()), Is.EqualTo(new[]
        {
            new[] { (0L, LogChannel.Stdout, "1"), (1L, LogChannel.Stdout, "2"), (2L, LogChannel.Stdout, "3"), (3L, LogChannel.Stdout, "4"), (4L, LogChannel.Stdout, "5") },
            new[] { (5L, LogChannel.Stderr, "é") },
            new[] { (6L, LogChannel.Stderr, "partial") },
        }));
        Assert.That(events.All(e => ReferenceEquals(e.Log, log)), Is.True);
        await build.FinishAsync();
    }

    [Test]
    public async Task MaxLogBytes_MultiByteLines_CountsUtf8Bytes_AndLiveStatusIsUnaffected()
    {
        var recording = new RecordingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(o => { o.MaxLogBytes = 50; o.MaxLogTailBytes = 25; o.LogTailLines = 4; }, recording);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        for (var i = 0; i < 20; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"日本 {i:D2}"); // 6 + 1 + 2 = 9 bytes, 5 chars
        }

        Assert.That(log.ByteCount, Is.EqualTo(20 * 9));
        Assert.That(log.Tail.Select(l => l.Text), Is.EqualTo(new[] { "日本 16", "日本 17", "日本 18", "日本 19" }), "the live tail is in live numbering");
        Assert.That(log.Tail.Select(l => l.Number), Is.EqualTo(new long[] { 16, 17, 18, 19 }));
        await build.FinishAsync();

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 1000);
        var texts = stored.Select(l => l.Text).ToArray();
        Assert.That(texts.Take(5), Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"日本 {i:D2}")), "the head: 5 lines of 9 bytes fit in 50");
        Assert.That(texts[5], Does.Contain("13 lines (117 bytes) omitted").And.Contain("its last 2 lines follow"));
        Assert.That(texts.Skip(6), Is.EqualTo(new[] { "日本 18", "日本 19" }), "the tail: 2 lines of 9 bytes fit in 25");
        var row = await t.Store.GetLogAsync(new LogKey("b", 1, 0, 0));
        Assert.That(row!.LineCount, Is.EqualTo(8));
        Assert.That(row.ByteCount, Is.EqualTo((7 * 9) + System.Text.Encoding.UTF8.GetByteCount(texts[5])));
        Assert.That(recording.Chunks.Sum(c => c.TextByteCount), Is.EqualTo(row.ByteCount));
        Assert.That(log.LineCount, Is.EqualTo(20));
    }

    [Test]
    public async Task StoredChunks_AreUtf8_WithOneChannelBytePerLine()
    {
        var recording = new RecordingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: recording);
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendAsync(LogChannel.Stderr, "ü\r\n\n");
        await log.AppendLineAsync(LogChannel.Header, "h");
        await build.FinishAsync();

        var chunks = recording.Chunks;
        var text = chunks.SelectMany(c => c.Utf8Text.ToArray()).ToArray();
        var channels = chunks.SelectMany(c => c.Channels.ToArray()).ToArray();
        Assert.That(System.Text.Encoding.UTF8.GetString(text), Is.EqualTo("ü\n\nh\n"));
        Assert.That(channels, Is.EqualTo(new byte[] { 1, 1, 2 }));
    }

    [Test]
    public async Task AppendAsync_ManyLinesWithoutSubscribers_AllocatesFarLessThanAStringPerLine()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        const int linesPerAppend = 20;
        var text = new char[linesPerAppend * 81];
        for (var i = 0; i < linesPerAppend; i++)
        {
            text.AsSpan(i * 81, 80).Fill((char)('a' + i));
            text[(i * 81) + 80] = '\n';
        }

        // Warm up (JIT, the log's buffers at their working size), then measure on this thread only: no await, so no
        // thread switch, and the writer's own allocations (the chunks it stores) happen on its thread.
        AppendLines(log, text, 2_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        AppendLines(log, text, 10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"{allocated / 10_000.0:0.00} bytes allocated per line appended");
        Assert.That(allocated / 10_000.0, Is.LessThan(16), $"{allocated} bytes allocated for 10,000 lines of 80 chars");
        Assert.That(log.LineCount, Is.EqualTo(12_000));
        await build.FinishAsync().WaitAsync(Limit);
        Assert.That(await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 11_999, 1), Has.Count.EqualTo(1));

        void AppendLines(ILog log, char[] text, int lines)
        {
            for (var appended = 0; appended < lines; appended += linesPerAppend)
            {
                if (!log.AppendAsync(LogChannel.Stdout, text.AsMemory()).IsCompletedSuccessfully)
                {
                    throw new AssertionException("The append had to wait, but the queue has room.");
                }

                if (appended % 200 == 0)
                {
                    // Let the writer keep up, as it does in a running host, so the pending buffer keeps its size.
                    t.Host.FlushAsync().GetAwaiter().GetResult();
                }
            }
        }
    }

    private static ReadOnlyMemory<char> Fill(char[] buffer, string text)
    {
        text.CopyTo(buffer);
        return buffer.AsMemory(0, text.Length);
    }
}
