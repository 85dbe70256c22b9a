using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.AspNetCore.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace BuildStatus.AspNetCore.Tests.Internal;

[TestFixture]
public sealed class EventJournalTests
{
    private static readonly StreamFilter All = new(null, null, StatusEventKinds.All);

    private ServiceProvider _provider = null!;
    private IBuildStatusHost _host = null!;

    [SetUp]
    public async Task SetUp()
    {
        _provider = new ServiceCollection().AddLogging().AddBuildStatus(b => b.UseInMemoryStorage()).BuildServiceProvider();
        _host = _provider.GetRequiredService<IBuildStatusHost>();
        await _host.StartAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _host.StopAsync();
        await _host.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Test]
    public async Task Read_CursorOvertakenByTheBuffer_ReturnsResetWithMissedCount()
    {
        using var journal = NewJournal(capacity: 8);
        for (var i = 0; i < 20; i++)
        {
            _host.AddBuilder($"b{i}");
        }

        await WaitForAsync(() => journal.LastSequence == 20);
        var read = journal.Read(2, All, 100);

        // Entries 13..20 remain; a client at 2 missed 3..12.
        Assert.That(read.Entries, Has.Count.EqualTo(1));
        Assert.That(read.Entries[0].IsReset, Is.True);
        Assert.That((long)JsonNode.Parse(read.Entries[0].Payload)!["missed"]!, Is.EqualTo(10));
        Assert.That(read.ScannedTo, Is.EqualTo(20));
    }

    [Test]
    public async Task Read_CursorInTheBuffer_ReturnsEveryMatchingEntryInOrder()
    {
        using var journal = NewJournal(capacity: 100);
        for (var i = 0; i < 5; i++)
        {
            _host.AddBuilder($"b{i}");
        }

        await WaitForAsync(() => journal.LastSequence == 5);
        var read = journal.Read(1, new StreamFilter(new HashSet<string> { "b2", "b4" }, null, StatusEventKinds.All), 100);

        Assert.That(read.Entries.Select(e => e.BuilderName), Is.EqualTo(new[] { "b2", "b4" }));
        Assert.That(read.ScannedTo, Is.EqualTo(5));
    }

    [Test]
    public async Task Read_ByteLimit_StopsBeforeTheEntryThatWouldPassItButTakesAtLeastOne()
    {
        using var journal = NewJournal(capacity: 100);
        for (var i = 0; i < 5; i++)
        {
            _host.AddBuilder($"b{i}");
        }

        await WaitForAsync(() => journal.LastSequence == 5);
        var one = journal.Read(0, All, 100, maxBytes: 1);
        var first = journal.Read(0, All, 100).Entries;
        var two = journal.Read(0, All, 100, maxBytes: first[0].Bytes + first[1].Bytes);

        Assert.That(one.Entries, Has.Count.EqualTo(1));
        Assert.That(one.ScannedTo, Is.EqualTo(1));
        Assert.That(two.Entries, Has.Count.EqualTo(2));
        Assert.That(two.ScannedTo, Is.EqualTo(2));
        Assert.That(journal.Read(two.ScannedTo, All, 100).Entries.Select(e => e.Sequence), Is.EqualTo(new long[] { 3, 4, 5 }));
    }

    [Test]
    public void TryParseId_IdOfAnotherJournal_IsRejected()
    {
        using var journal = NewJournal(capacity: 10);

        Assert.That(journal.TryParseId(journal.FormatId(7), out var sequence), Is.True);
        Assert.That(sequence, Is.EqualTo(7));
        Assert.That(journal.TryParseId("0-7", out _), Is.False);
        Assert.That(journal.TryParseId("garbage", out _), Is.False);
    }

    [Test]
    public async Task StreamAsync_SlowClientBehindSeveralChunksOfOneLog_GetsThemMergedInOrder()
    {
        using var journal = NewJournal(capacity: 1000);
        _host.AddBuilder("chunky");
        var build = await _host.StartBuildAsync("chunky");
        var step = build.AddStep("s");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < 40; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
            await Task.Yield();
        }

        log.Finish();
        await WaitForAsync(() => journal.Read(0, new StreamFilter(null, null, StatusEventKinds.LogFinished), 10).Entries.Count == 1);
        var chunks = journal.Read(0, new StreamFilter(null, null, StatusEventKinds.LogChunk), 1000).Entries;
        var chunkEntries = chunks.Count;
        Assert.That(chunks.SelectMany(e => JsonNode.Parse(e.Payload)!["lines"]!.AsArray()).Count(), Is.EqualTo(40), "each chunk's own payload is whole JSON");
        Assert.That(chunkEntries, Is.GreaterThan(1), "the journal should hold several chunks of the log for this test to mean anything");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var messages = new List<string>();
        var options = new BuildStatusWebOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(50) };
        await foreach (var batch in EventStream.StreamAsync(journal, 0, new StreamFilter(null, null, StatusEventKinds.LogChunk | StatusEventKinds.LogFinished), options, TimeProvider.System, cts.Token))
        {
            if (batch.Any(m => m.IsComment))
            {
                break;
            }

            messages.AddRange(batch.Where(m => m.Type != "open").Select(m => m.Data));
        }

        var kinds = messages.Select(m => (string?)JsonNode.Parse(m)!["kind"]).ToArray();
        var lines = messages.Where(m => (string?)JsonNode.Parse(m)!["kind"] == "logChunk")
            .SelectMany(m => JsonNode.Parse(m)!["lines"]!.AsArray()).Select(l => (string?)l!["t"]).ToArray();
        Assert.That(kinds, Is.EqualTo(new[] { "logChunk", "logFinished" }), $"{chunkEntries} chunk events should merge into one");
        Assert.That(lines, Is.EqualTo(Enumerable.Range(0, 40).Select(i => $"line {i}")));
        await build.FinishAsync();
    }

    private EventJournal NewJournal(int capacity)
    {
        var journal = new EventJournal(new BuildStatusWebOptions { ReplayBufferCapacity = capacity }, TimeProvider.System, NullLogger.Instance);
        journal.Start(_host);
        return journal;
    }

    // Events reach the journal on Core's delivery thread.
    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out waiting for the journal");
            await Task.Delay(10);
        }
    }
}
