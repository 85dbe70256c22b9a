using NUnit.Framework;

namespace BuildStatus.Storage.Testing;

/// <summary>The event outbox (<see cref="IBuildEventFeed"/>); ignored for a store without one.</summary>
public abstract partial class BuildStoreConformanceTests
{
    private IBuildEventFeed Feed
        => Store as IBuildEventFeed is { SupportsEvents: true } feed ? feed : throw new IgnoreException("The store has no event feed (IBuildEventFeed).");

    private static StoredEvent NewEvent(StatusEventKinds kind, int number, int offsetSeconds = 0) =>
        new(kind, T0.AddSeconds(offsetSeconds), "linux", number) { HostName = "host-a", InstanceId = 7 };

    /// <summary>Events written with a batch come back in order, every field as given, with increasing sequences.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_WithEvents_ReadBackInOrder_FieldsUnchanged()
    {
        var feed = Feed;
        var start = await feed.GetLastEventSequenceAsync();
        var chunk = NewEvent(StatusEventKinds.LogChunk, 1, 2) with { StepNumber = 0, LogNumber = 1, FirstLine = 10, LineCount = 5 };
        var finished = NewEvent(StatusEventKinds.StepFinished, 1, 3) with { StepNumber = 0, Result = BuildResult.Warnings, Text = "compile\u0000 done ✓" };
        var started = NewEvent(StatusEventKinds.BuildStarted, 1, 1);
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)], InstanceId = null, Events = [started, chunk, finished] });
        await Store.ApplyAsync(new WriteBatch { Builds = [Finish(NewBuild("linux", 1), T0.AddSeconds(4))], Events = [NewEvent(StatusEventKinds.BuildFinished, 1, 4) with { Result = BuildResult.Success }] });

        var page = await feed.ReadEventsAsync(start, 100);

        Assert.That(page.Events, Has.Count.EqualTo(4), string.Join("; ", page.Events));
        Assert.That(page.Events.Select(e => e.Sequence), Is.Ordered.Ascending.And.Unique);
        Assert.That(page.Events[0].Sequence, Is.GreaterThan(start));
        Assert.That(page.Events[0] with { Sequence = 0 }, Is.EqualTo(started));
        Assert.That(page.Events[1] with { Sequence = 0 }, Is.EqualTo(chunk));
        Assert.That(page.Events[2] with { Sequence = 0 }, Is.EqualTo(finished), "text with NUL and non-ASCII kept exactly");
        Assert.That(page.Events[3].Kind, Is.EqualTo(StatusEventKinds.BuildFinished));
        Assert.That(await feed.GetLastEventSequenceAsync(), Is.EqualTo(page.Events[3].Sequence));
        Assert.That(page.PrunedThrough, Is.LessThanOrEqualTo(start));
    }

    /// <summary>Reads start after the given sequence and return at most the given count.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadEventsAsync_AfterASequence_AtMostMaxCount()
    {
        var feed = Feed;
        var start = await feed.GetLastEventSequenceAsync();
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)], Events = [.. Enumerable.Range(0, 10).Select(i => NewEvent(StatusEventKinds.BuildChanged, 1, i) with { Text = $"t{i}" })] });
        var all = (await feed.ReadEventsAsync(start, 100)).Events;

        var firstThree = await feed.ReadEventsAsync(start, 3);
        var rest = await feed.ReadEventsAsync(firstThree.Events[^1].Sequence, 100);

        Assert.That(firstThree.Events.Select(e => e.Text), Is.EqualTo(new[] { "t0", "t1", "t2" }));
        Assert.That(rest.Events.Select(e => e.Text), Is.EqualTo(Enumerable.Range(3, 7).Select(i => $"t{i}")));
        Assert.That((await feed.ReadEventsAsync(all[^1].Sequence, 100)).Events, Is.Empty);
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await feed.ReadEventsAsync(-1, 10));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await feed.ReadEventsAsync(0, 0));
    }

    /// <summary>A rejected batch writes none of its events, and a batch without events writes none.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ApplyAsync_RejectedOrWithoutEvents_WritesNoEvent()
    {
        var feed = Feed;
        var start = await feed.GetLastEventSequenceAsync();
        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)] });
        Assert.ThrowsAsync<BatchRejectedException>(async () => await Store.ApplyAsync(new WriteBatch
        {
            Steps = [NewStep(new StepKey("linux", 99, 0))],
            Events = [NewEvent(StatusEventKinds.StepStarted, 99) with { StepNumber = 0 }],
        }));

        Assert.That((await feed.ReadEventsAsync(start, 100)).Events, Is.Empty);
        Assert.That(await feed.GetLastEventSequenceAsync(), Is.EqualTo(start));
    }

    /// <summary>A second store object on the same location reads the first one's events.</summary>
    /// <returns>A task.</returns>
    [Test]
    public async Task ReadEventsAsync_SharedInstances_SeeEachOthersEvents()
    {
        var feed = Feed;
        if (!SupportsSharedInstances)
        {
            Assert.Ignore("The store cannot share storage between store objects.");
        }

        var other = (IBuildEventFeed)await OpenStoreAsync();
        var start = await other.GetLastEventSequenceAsync();

        await Store.ApplyAsync(new WriteBatch { Builds = [NewBuild("linux", 1)], Events = [NewEvent(StatusEventKinds.BuildStarted, 1)] });

        var page = await other.ReadEventsAsync(start, 10);
        Assert.That(page.Events.Select(e => (e.Kind, e.BuildNumber, e.HostName)), Is.EqualTo(new[] { (StatusEventKinds.BuildStarted, 1, "host-a") }));
        Assert.That(await feed.GetLastEventSequenceAsync(), Is.EqualTo(page.Events[0].Sequence));
    }
}
