using System.Text;
using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.AspNetCore.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.AspNetCore.Tests.Internal;

[TestFixture]
public sealed partial class EventJournalTests
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
        Assert.That(two.AtEnd, Is.False, "entries were left after the byte limit");
        Assert.That(journal.Read(two.ScannedTo, All, 100).AtEnd, Is.True);
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
        Assert.That(journal.KeepChunks(out var keep), Is.Null, "no chunks were kept before");
        using var _ = keep;
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
        Assert.That(journal.KeepChunks(out var again), Is.LessThan(chunks[0].Sequence), "every chunk after the first event judged is kept");
        again.Dispose();
        await foreach (var batch in EventStream.StreamAsync(journal, chunks[0].Sequence - 1, new StreamFilter(null, null, StatusEventKinds.LogChunk | StatusEventKinds.LogFinished), options, TimeProvider.System, cts.Token))
        {
            if (batch.Any(m => m.IsComment))
            {
                break;
            }

            messages.AddRange(batch.Where(m => m.Type != "open").Select(DataOf));
        }

        var kinds = messages.Select(m => (string?)JsonNode.Parse(m)!["kind"]).ToArray();
        var lines = messages.Where(m => (string?)JsonNode.Parse(m)!["kind"] == "logChunk")
            .SelectMany(m => JsonNode.Parse(m)!["lines"]!.AsArray()).Select(l => (string?)l!["t"]).ToArray();
        Assert.That(kinds, Is.EqualTo(new[] { "logChunk", "logFinished" }), $"{chunkEntries} chunk events should merge into one");
        Assert.That(lines, Is.EqualTo(Enumerable.Range(0, 40).Select(i => $"line {i}")));
        await build.FinishAsync();
    }

    [Test]
    public async Task OnEventAsync_NoStreamAskedForLogChunks_KeepsNoneButEveryOtherEvent()
    {
        using var journal = NewJournal(capacity: 1000);
        _host.AddBuilder("quiet");
        var build = await _host.StartBuildAsync("quiet");
        var step = build.AddStep("s");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < 10; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        log.Finish();
        await WaitForAsync(() => journal.Read(0, new StreamFilter(null, null, StatusEventKinds.LogFinished), 10).Entries.Count == 1);

        var kinds = journal.Read(0, All, 1000).Entries.Select(e => e.Kind).ToArray();
        Assert.That(kinds, Does.Not.Contain(StatusEventKinds.LogChunk));
        Assert.That(kinds, Does.Contain(StatusEventKinds.LogStarted).And.Contain(StatusEventKinds.StepStarted));
        await build.FinishAsync();
    }

    [Test]
    public async Task StreamAsync_LogChunksAskedFromBeforeTheJournalKeptThem_StartsWithReset()
    {
        using var journal = NewJournal(capacity: 1000);
        _host.AddBuilder("late");
        await WaitForAsync(() => journal.LastSequence >= 1);

        // Sequence 0 is older than what the journal has of chunks (it kept none until now): a gap it cannot fill.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var options = new BuildStatusWebOptions { HeartbeatInterval = TimeSpan.FromSeconds(30) };
        SseMessage? first = null;
        await foreach (var batch in EventStream.StreamAsync(journal, 0, new StreamFilter(null, null, StatusEventKinds.All), options, TimeProvider.System, cts.Token))
        {
            first = batch.FirstOrDefault(m => m.Type != "open");
            if (first is not null)
            {
                break;
            }
        }

        Assert.That(first?.Type, Is.EqualTo("reset"));
        Assert.That((string?)JsonNode.Parse(DataOf(first!))!["kind"], Is.EqualTo("reset"));
    }

    [Test]
    public async Task KeepChunks_LastStreamGone_KeepsChunksForTheGraceThenStops()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var journal = new EventJournal(new BuildStatusWebOptions(), time, NullLogger.Instance);
        journal.Start(_host);
        journal.KeepChunks(out var keep);
        keep.Dispose();
        keep.Dispose(); // twice is harmless
        _host.AddBuilder("grace");
        var build = await _host.StartBuildAsync("grace");
        var step = build.AddStep("s");
        step.Start();
        var log = step.AddLog("stdio");

        // Within the grace a chunk is kept (a stream that reconnects finds it); after it, none.
        await log.AppendLineAsync(LogChannel.Stdout, "kept");
        await WaitForAsync(() => Chunks(journal).Count == 1);
        time.Advance(EventJournal.ChunkGrace);
        await log.AppendLineAsync(LogChannel.Stdout, "dropped");
        log.Finish();
        await WaitForAsync(() => journal.Read(0, new StreamFilter(null, null, StatusEventKinds.LogFinished), 10).Entries.Count == 1);

        var finished = journal.Read(0, new StreamFilter(null, null, StatusEventKinds.LogFinished), 10).Entries[0].Sequence;

        Assert.That(Chunks(journal).Select(e => (string?)JsonNode.Parse(e.Payload)!["lines"]![0]!["t"]), Is.EqualTo(new[] { "kept" }));
        Assert.That(finished, Is.GreaterThan(0));
        Assert.That(journal.KeepChunks(out var again), Is.Null, "after the grace the journal has to find its starting point again");
        again.Dispose();
        await build.FinishAsync();
    }

    [Test]
    public async Task Append_FirstEventsOfAQuietSpell_WakeStreamsOnceAfterTheFirstWakeDelay()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var journal = new EventJournal(new BuildStatusWebOptions(), time, NullLogger.Instance);
        journal.Start(_host);
        var waiting = journal.Read(0, All, 100).Changed;

        _host.AddBuilder("burst-1");
        _host.AddBuilder("burst-2");
        await WaitForAsync(() => journal.LastSequence == 2);
        var before = waiting.IsCompleted;
        time.Advance(EventJournal.FirstWakeDelay - TimeSpan.FromTicks(10));
        var early = waiting.IsCompleted;
        time.Advance(TimeSpan.FromTicks(10));

        Assert.That(before, Is.False, "the first event of a burst waits for the rest");
        Assert.That(early, Is.False);
        Assert.That(waiting.IsCompleted, Is.True, "one wake for both events");
        Assert.That(journal.Read(0, All, 100).Entries, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Frame_OfAnEvent_IsItsIdAndOneDataLine()
    {
        using var journal = NewJournal(capacity: 10);
        _host.AddBuilder("framed");
        await WaitForAsync(() => journal.LastSequence == 1);

        var entry = journal.Read(0, All, 10).Entries.Single();
        var frame = Encoding.UTF8.GetString(entry.Frame.Span);

        Assert.That(frame, Does.StartWith($"id: {journal.FormatId(1)}\ndata: {{").And.EndWith("}\n\n"));
        Assert.That(frame.Count(c => c == '\n'), Is.EqualTo(3));
        Assert.That((string?)JsonNode.Parse(entry.Payload)!["builder"], Is.EqualTo("framed"));
        Assert.That(entry.Message.Frame.ToArray(), Is.EqualTo(entry.Frame.ToArray()));
    }

    // The data of an event as a client reads it: an encoded frame's data line, else the message's data.
    private static string DataOf(SseMessage message)
    {
        if (message.Frame.IsEmpty)
        {
            return message.Data;
        }

        var text = Encoding.UTF8.GetString(message.Frame.Span);
        var data = text.IndexOf("data: ", StringComparison.Ordinal) + "data: ".Length;
        return text[data..text.IndexOf('\n', data)];
    }

    private static IReadOnlyList<JournalEntry> Chunks(EventJournal journal)
        => journal.Read(0, new StreamFilter(null, null, StatusEventKinds.LogChunk), 1000).Entries;

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
