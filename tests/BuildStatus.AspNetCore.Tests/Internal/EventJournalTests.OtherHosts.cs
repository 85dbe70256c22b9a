using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.AspNetCore.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BuildStatus.AspNetCore.Tests.Internal;

// Other hosts' events in the journal (EventJournal.OtherHosts.cs): the same fixture and helpers as the rest.
public sealed partial class EventJournalTests
{
    [Test]
    public void KeepOtherHosts_LastStreamGone_TakesThemForTheGraceThenStops()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var journal = new EventJournal(new BuildStatusWebOptions(), time, NullLogger.Instance);
        journal.Start(_host);
        var before = journal.TakesOtherHosts;

        journal.KeepOtherHosts(out var first);
        journal.KeepOtherHosts(out var second);
        first.Dispose();
        first.Dispose(); // twice is harmless
        time.Advance(EventJournal.OtherHostsGrace);
        var whileOneStreamAsks = journal.TakesOtherHosts;
        second.Dispose();
        time.Advance(EventJournal.OtherHostsGrace - TimeSpan.FromSeconds(1));
        var withinTheGrace = journal.TakesOtherHosts;
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(before, Is.False, "nobody asked: Core reads no other host's events for this journal");
        Assert.That(whileOneStreamAsks, Is.True);
        Assert.That(withinTheGrace, Is.True, "a stream that reconnects within the grace misses nothing");
        Assert.That(journal.TakesOtherHosts, Is.False);
    }

    [Test]
    public void KeepOtherHostsForSnapshot_NoStreamFollows_StopsAfterTheGrace()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var journal = new EventJournal(new BuildStatusWebOptions(), time, NullLogger.Instance);
        journal.Start(_host);

        journal.KeepOtherHostsForSnapshot();
        var taken = journal.TakesOtherHosts;
        time.Advance(TimeSpan.FromSeconds(30));
        journal.KeepOtherHostsForSnapshot();
        time.Advance(EventJournal.OtherHostsGrace - TimeSpan.FromSeconds(1));
        var renewed = journal.TakesOtherHosts;
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(taken, Is.True);
        Assert.That(renewed, Is.True, "a second snapshot starts the grace again");
        Assert.That(journal.TakesOtherHosts, Is.False);
    }

    [Test]
    public async Task StreamAsync_OtherHostsAskedFromBeforeTheJournalTookThem_StartsWithReset()
    {
        using var journal = new EventJournal(new BuildStatusWebOptions(), TimeProvider.System, NullLogger.Instance);
        journal.Start(_host);
        _host.AddBuilder("before");
        await WaitForAsync(() => journal.LastSequence >= 1);

        // Sequence 0 is older than what the journal has of other hosts' events (it took none until now).
        var reset = await FirstAfterOpenAsync(journal, 0, new StreamFilter(null, null, StreamFilter.DefaultKinds, OtherHosts: true));

        Assert.That(reset.Type, Is.EqualTo("reset"));
    }

    [Test]
    public async Task StreamAsync_OtherHostsAskedFromWhenTheJournalTookThem_ResumesWithoutReset()
    {
        using var journal = new EventJournal(new BuildStatusWebOptions(), TimeProvider.System, NullLogger.Instance);
        journal.Start(_host);
        _host.AddBuilder("before");
        await WaitForAsync(() => journal.LastSequence >= 1);
        journal.KeepOtherHostsForSnapshot();
        var from = journal.LastSequence;
        _host.AddBuilder("after");

        var next = await FirstAfterOpenAsync(journal, from, new StreamFilter(null, null, StreamFilter.DefaultKinds, OtherHosts: true));

        Assert.That(next.Type, Is.Null, "a status event, not a reset: " + DataOf(next));
        Assert.That((string?)JsonNode.Parse(DataOf(next))!["builder"], Is.EqualTo("after"));
    }

    [Test]
    public void Matches_ResetOfOtherHostsEvents_PassesOnlyStreamsThatAskedForThem()
    {
        var dto = new StreamEventDto("reset", DateTimeOffset.UtcNow) { Missed = 3 };
        var others = JournalEntry.Reset(1, "e-1", dto, fromOtherHosts: true);
        var own = JournalEntry.Reset(2, "e-2", dto);
        var thisHost = new StreamFilter(null, null, StatusEventKinds.BuildStarted);
        var allHosts = thisHost with { OtherHosts = true };

        Assert.Multiple(() =>
        {
            Assert.That(thisHost.Matches(others), Is.False);
            Assert.That(allHosts.Matches(others), Is.True);
            Assert.That(thisHost.Matches(own), Is.True);
            Assert.That(allHosts.Matches(own), Is.True);
        });
    }

    private static async Task<SseMessage> FirstAfterOpenAsync(EventJournal journal, long from, StreamFilter filter)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var options = new BuildStatusWebOptions { HeartbeatInterval = TimeSpan.FromSeconds(30) };
        await foreach (var batch in EventStream.StreamAsync(journal, from, filter, options, TimeProvider.System, cts.Token))
        {
            if (batch.FirstOrDefault(m => m.Type != "open") is { } first)
            {
                return first;
            }
        }

        throw new AssertionException("The stream ended before any event.");
    }
}
