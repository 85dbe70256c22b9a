using BuildStatus.Core.Tests.Support;
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

        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(async () => await log.AppendAsync(LogChannel.Stdout, null!))!.ParamName, Is.EqualTo("text"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.AppendAsync((LogChannel)9, "x"))!.ParamName, Is.EqualTo("channel"));
        Assert.That(Assert.Throws<ArgumentException>(() => step.AddLog("stdio"))!.ParamName, Is.EqualTo("name"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => log.Persistent.ReadLinesAsync(-1))!.ParamName, Is.EqualTo("firstLine"));
        await build.FinishAsync();
    }

    [Test]
    public async Task AppendAsync_OneHugeLine_IsStoredWhole()
    {
        await using var t = await TestHost.StartAsync();
        var (build, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        var huge = new string('h', 5 * 1024 * 1024);

        await log.AppendLineAsync(LogChannel.Stdout, huge);
        await build.FinishAsync().WaitAsync(Limit);

        var stored = await t.Store.ReadLogLinesAsync(new LogKey("b", 1, 0, 0), 0, 10);
        Assert.That(stored.Single().Text, Has.Length.EqualTo(huge.Length));
    }
}
