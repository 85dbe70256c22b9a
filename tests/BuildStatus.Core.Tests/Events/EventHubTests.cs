using System.Diagnostics;
using BuildStatus.Core.Tests.Fakes;
using BuildStatus.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;

namespace BuildStatus.Core.Tests.Events;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class EventHubTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly FakeWorkerStatus Worker = new("worker-1");

    [Test]
    public async Task Subscribe_100000Events_ReceiverGetsAllInOrder()
    {
        await using var hub = NewHub(capacity: 200_000);
        var receiver = new RecordingReceiver();
        await using var subscription = hub.Subscribe(receiver, null);

        for (int i = 0; i < 100_000; i++)
        {
            hub.Publish(Numbered(i));
        }

        await receiver.WaitForCountAsync(100_000).WaitAsync(Timeout);
        Assert.That(receiver.Events.Select(SequenceOf), Is.EqualTo(Enumerable.Range(0, 100_000).Select(i => (long)i)));
        Assert.That(subscription.Delivered, Is.EqualTo(100_000));
        Assert.That(subscription.Missed, Is.Zero);
        Assert.That(subscription.Faults, Is.Zero);
    }

    [Test]
    public async Task WatchAsync_100000Events_StreamYieldsAllInOrder()
    {
        await using var hub = NewHub(capacity: 200_000);
        var stream = hub.WatchAsync(null, CancellationToken.None);
        var reading = ReadAsync(stream, 100_000);

        for (int i = 0; i < 100_000; i++)
        {
            hub.Publish(Numbered(i));
        }

        var events = await reading.WaitAsync(Timeout);
        Assert.That(events.Select(SequenceOf), Is.EqualTo(Enumerable.Range(0, 100_000).Select(i => (long)i)));
    }

    [Test]
    public async Task Publish_FromFourThreads_EachPublishersEventsArriveInItsOrder()
    {
        await using var hub = NewHub(capacity: 100_000);
        var receiver = new RecordingReceiver();
        await using var subscription = hub.Subscribe(receiver, null);

        // Publisher p publishes p, p + 4, p + 8, ...: each publisher's own sequence must stay ascending.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(p => Task.Run(() =>
        {
            for (int i = p; i < 40_000; i += 4)
            {
                hub.Publish(Numbered(i));
            }
        }))).WaitAsync(Timeout);

        await receiver.WaitForCountAsync(40_000).WaitAsync(Timeout);
        var sequences = receiver.Events.Select(SequenceOf).ToList();
        for (int p = 0; p < 4; p++)
        {
            var mine = sequences.Where(s => s % 4 == p).ToList();
            Assert.That(mine, Is.Ordered.Ascending.And.Count.EqualTo(10_000), $"publisher {p}");
        }
    }

    [Test]
    public async Task Subscribe_BuilderFilter_DeliversOnlyThatBuildersEventsAndNoWorkerEvents()
    {
        await using var hub = NewHub();
        var receiver = new RecordingReceiver();
        await using var subscription = hub.Subscribe(receiver, StatusEventFilter.ForBuilder("linux"));

        hub.Publish(Started("windows", 1, sequence: 0));
        hub.Publish(Numbered(1));
        hub.Publish(new WorkerDisconnected(Worker) { Timestamp = Origin });
        hub.Publish(Started("linux", 7, sequence: 3));
        hub.Publish(new BuilderAdded(new FakeBuilderStatus("linux")) { Timestamp = Origin.AddTicks(4) });
        hub.Publish(new BuilderAdded(new FakeBuilderStatus("mac")) { Timestamp = Origin.AddTicks(5) });
        hub.Publish(Started("linux", 8, sequence: 6));

        await receiver.WaitForCountAsync(3).WaitAsync(Timeout);
        await AssertNothingMoreAfterMarkerAsync(hub, receiver, 3, StatusEventFilter.ForBuilder("linux"));
        Assert.That(receiver.Events.SkipLast(1).Select(SequenceOf), Is.EqualTo(new long[] { 3, 4, 6 }));
    }

    [Test]
    public async Task Subscribe_BuildFilter_DeliversOnlyThatBuild()
    {
        await using var hub = NewHub();
        var receiver = new RecordingReceiver();
        var filter = StatusEventFilter.ForBuild("linux", 7);
        await using var subscription = hub.Subscribe(receiver, filter);

        hub.Publish(Started("linux", 6, sequence: 0));
        hub.Publish(Started("linux", 7, sequence: 1));
        hub.Publish(Started("windows", 7, sequence: 2));
        hub.Publish(new BuilderAdded(new FakeBuilderStatus("linux")) { Timestamp = Origin.AddTicks(3) });
        hub.Publish(new BuildChanged(Build("linux", 7), "compiling") { Timestamp = Origin.AddTicks(4) });

        await receiver.WaitForCountAsync(2).WaitAsync(Timeout);
        await AssertNothingMoreAfterMarkerAsync(hub, receiver, 2, filter);
        Assert.That(receiver.Events.SkipLast(1).Select(SequenceOf), Is.EqualTo(new long[] { 1, 4 }));
    }

    [Test]
    public async Task WatchAsync_KindsFilter_YieldsOnlyThoseKinds()
    {
        await using var hub = NewHub();
        var filter = new StatusEventFilter { Kinds = StatusEventKinds.BuildStarted | StatusEventKinds.WorkerDisconnected };
        var reading = ReadAsync(hub.WatchAsync(filter, CancellationToken.None), 2);

        hub.Publish(Numbered(0));
        hub.Publish(Started("linux", 1, sequence: 1));
        hub.Publish(new BuildChanged(Build("linux", 1), "compiling") { Timestamp = Origin.AddTicks(2) });
        hub.Publish(new WorkerDisconnected(Worker) { Timestamp = Origin.AddTicks(3) });

        var events = await reading.WaitAsync(Timeout);
        Assert.That(events.Select(e => e.Kind), Is.EqualTo(new[] { StatusEventKinds.BuildStarted, StatusEventKinds.WorkerDisconnected }));
    }

    [Test]
    public async Task WatchAsync_Condition_YieldsOnlyWhatItAcceptsJudgedWhenPublished()
    {
        await using var hub = NewHub();
        var accept = true;
        var filter = new StatusEventFilter { Kinds = StatusEventKinds.BuildStarted | StatusEventKinds.BuildChanged, Condition = e => accept && e.Kind == StatusEventKinds.BuildStarted };
        var reading = ReadAsync(hub.WatchAsync(filter, CancellationToken.None), 2);

        hub.Publish(Started("linux", 1, sequence: 0));
        hub.Publish(new BuildChanged(Build("linux", 1), "compiling") { Timestamp = Origin.AddTicks(1) });
        accept = false;
        hub.Publish(Started("linux", 2, sequence: 2));
        accept = true;
        hub.Publish(Started("linux", 3, sequence: 3));

        var events = await reading.WaitAsync(Timeout);
        Assert.That(events.Select(SequenceOf), Is.EqualTo(new long[] { 0, 3 }));
        Assert.That(filter.Matches(new WorkerDisconnected(Worker) { Timestamp = Origin }), Is.False, "the kinds are checked before the condition");
    }

    [Test]
    public async Task Subscribe_ThrowingReceiverNextToNormalOne_NormalGetsAllAndFaultsAreCountedAndLogged()
    {
        var logger = new RecordingLogger();
        await using var hub = new EventHub(10_000, logger);
        var throwing = new ThrowingReceiver();
        var normal = new RecordingReceiver();
        await using var faulty = hub.Subscribe(throwing, null);
        await using var healthy = hub.Subscribe(normal, null);

        for (int i = 0; i < 1000; i++)
        {
            hub.Publish(Numbered(i));
        }

        await normal.WaitForCountAsync(1000).WaitAsync(Timeout);
        // Delivered is counted last, after the fault count and the log entry: wait for it so the asserts see all three.
        await WaitUntilAsync(() => faulty.Faults == 1000 && faulty.Delivered == 1000);
        Assert.That(normal.Events.Select(SequenceOf), Is.EqualTo(Enumerable.Range(0, 1000).Select(i => (long)i)));
        Assert.That(throwing.Calls, Is.EqualTo(1000));
        Assert.That(faulty.Delivered, Is.EqualTo(1000));
        Assert.That(healthy.Faults, Is.Zero);
        Assert.That(
            logger.Entries.Count(e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException),
            Is.EqualTo(11),
            "the first 10 faults and the 1,000th are logged; a throwing receiver cannot flood the log");
    }

    [Test]
    public async Task Publish_ReceiverThatNeverCompletesNextToNormalOne_ReturnsPromptlyAndNormalGetsAll()
    {
        await using var hub = NewHub(capacity: 100_000);
        var stuckCalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuck = new RecordingReceiver((_, _) =>
        {
            stuckCalled.TrySetResult();
            return new ValueTask(new TaskCompletionSource().Task); // never completes, ignores its token
        });
        var normal = new RecordingReceiver();
        await using var stuckSubscription = hub.Subscribe(stuck, new StatusEventFilter { BufferCapacity = 16 });
        await using var normalSubscription = hub.Subscribe(normal, null);

        await Task.Run(() =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                hub.Publish(Numbered(i));
            }
        }).WaitAsync(Timeout);

        await normal.WaitForCountAsync(100_000).WaitAsync(Timeout);
        await stuckCalled.Task.WaitAsync(Timeout);
        Assert.That(normal.Events.Select(SequenceOf), Is.EqualTo(Enumerable.Range(0, 100_000).Select(i => (long)i)));
        Assert.That(stuckSubscription.Missed, Is.GreaterThan(0));
        Assert.That(hub.TotalDropped, Is.EqualTo(stuckSubscription.Missed));
    }

    [Test]
    public async Task Publish_ReceiversThatBlockTheirThreadNextToNormalOne_NormalGetsAll()
    {
        await using var hub = NewHub(capacity: 100_000);
        using var release = new ManualResetEventSlim();
        var blockingSubscriptions = new List<IStatusSubscription>();

        // More blocked threads than this machine has cores: a pump on the thread pool would starve the others.
        for (int i = 0; i < Environment.ProcessorCount * 4; i++)
        {
            blockingSubscriptions.Add(hub.Subscribe(
                new RecordingReceiver((_, _) =>
                {
                    release.Wait();
                    return ValueTask.CompletedTask;
                }),
                new StatusEventFilter { BufferCapacity = 16 }));
        }

        var normal = new RecordingReceiver();
        await using var normalSubscription = hub.Subscribe(normal, null);
        try
        {
            await Task.Run(() =>
            {
                for (int i = 0; i < 100_000; i++)
                {
                    hub.Publish(Numbered(i));
                }
            }).WaitAsync(Timeout);

            await normal.WaitForCountAsync(100_000).WaitAsync(Timeout);
            Assert.That(normal.Events.Select(SequenceOf), Is.EqualTo(Enumerable.Range(0, 100_000).Select(i => (long)i)));
        }
        finally
        {
            release.Set();
            foreach (var subscription in blockingSubscriptions)
            {
                await subscription.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task Subscribe_SlowReceiverWithSmallBuffer_GetsEventsMissedWithExactCountAtTheGap()
    {
        await using var hub = NewHub();
        var firstCall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receiver = new RecordingReceiver(async (e, _) =>
        {
            if (SequenceOf(e) == 0)
            {
                firstCall.TrySetResult();
                await release.Task;
            }
        });
        await using var subscription = hub.Subscribe(receiver, new StatusEventFilter { BufferCapacity = 8 });

        // Event 0 is in the receiver's hands; 1-8 fill the buffer; 9-99 are dropped.
        hub.Publish(Numbered(0));
        await firstCall.Task.WaitAsync(Timeout);
        for (int i = 1; i < 100; i++)
        {
            hub.Publish(Numbered(i));
        }

        Assert.That(subscription.Missed, Is.EqualTo(91));
        Assert.That(hub.TotalDropped, Is.EqualTo(91));
        release.SetResult();
        await receiver.WaitForCountAsync(10).WaitAsync(Timeout);
        for (int i = 100; i < 105; i++)
        {
            hub.Publish(Numbered(i)); // fewer than the capacity: all fit even if the receiver has not woken yet
        }

        await receiver.WaitForCountAsync(15).WaitAsync(Timeout);
        var events = receiver.Events;
        Assert.That(events.Take(9).Select(SequenceOf), Is.EqualTo(Enumerable.Range(0, 9).Select(i => (long)i)));
        Assert.That(events[9], Is.EqualTo(new EventsMissed(91) { Timestamp = Numbered(9).Timestamp }));
        Assert.That(events.Skip(10).Select(SequenceOf), Is.EqualTo(Enumerable.Range(100, 5).Select(i => (long)i)));
        Assert.That(subscription.Delivered + subscription.Missed, Is.EqualTo(105));
    }

    [Test]
    public async Task WatchAsync_ConsumerNotReadingWithSmallBuffer_NoticeFollowsBufferedEvents()
    {
        await using var hub = NewHub();
        var stream = hub.WatchAsync(new StatusEventFilter { BufferCapacity = 4 }, CancellationToken.None);
        for (int i = 0; i < 10; i++)
        {
            hub.Publish(Numbered(i));
        }

        await using var enumerator = stream.GetAsyncEnumerator();
        var events = new List<StatusEvent>();
        while (events.Count < 5)
        {
            Assert.That(await enumerator.MoveNextAsync().AsTask().WaitAsync(Timeout), Is.True);
            events.Add(enumerator.Current);
        }

        hub.Publish(Numbered(10));
        Assert.That(await enumerator.MoveNextAsync().AsTask().WaitAsync(Timeout), Is.True);
        events.Add(enumerator.Current);

        Assert.That(events.Take(4).Select(SequenceOf), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
        Assert.That(events[4], Is.EqualTo(new EventsMissed(6) { Timestamp = Numbered(4).Timestamp }));
        Assert.That(SequenceOf(events[5]), Is.EqualTo(10));
    }

    [Test]
    public async Task WatchAsync_OverflowThenPartialRead_NoticePrecedesFirstEventAcceptedAfterTheGap()
    {
        await using var hub = NewHub();
        const int capacity = 300;
        await using var enumerator = hub.WatchAsync(new StatusEventFilter { BufferCapacity = capacity }, CancellationToken.None)
            .GetAsyncEnumerator();
        for (int i = 0; i < 400; i++)
        {
            hub.Publish(Numbered(i)); // 0-299 buffered, 300-399 dropped
        }

        // The first read takes one batch out of the buffer, which frees room but leaves events before the gap.
        Assert.That(await enumerator.MoveNextAsync().AsTask().WaitAsync(Timeout), Is.True);
        hub.Publish(Numbered(400));
        var events = new List<StatusEvent> { enumerator.Current };
        while (events.Count < capacity + 2)
        {
            Assert.That(await enumerator.MoveNextAsync().AsTask().WaitAsync(Timeout), Is.True);
            events.Add(enumerator.Current);
        }

        Assert.That(events.Take(capacity).Select(SequenceOf), Is.EqualTo(Enumerable.Range(0, capacity).Select(i => (long)i)));
        Assert.That(events[capacity], Is.EqualTo(new EventsMissed(100) { Timestamp = Numbered(300).Timestamp }));
        Assert.That(SequenceOf(events[capacity + 1]), Is.EqualTo(400));
        Assert.That(hub.TotalDropped, Is.EqualTo(100));
    }

    [Test]
    public async Task WatchAsync_KindsFilterAndFullBuffer_NoticeDeliveredWhateverTheFilter()
    {
        await using var hub = NewHub();
        var filter = new StatusEventFilter { Kinds = StatusEventKinds.WorkerConnected, BufferCapacity = 1 };
        var stream = hub.WatchAsync(filter, CancellationToken.None);
        hub.Publish(Numbered(0));
        hub.Publish(Numbered(1));
        hub.Publish(Numbered(2));

        var events = await ReadAsync(stream, 2).WaitAsync(Timeout);
        Assert.That(SequenceOf(events[0]), Is.Zero);
        Assert.That(events[1], Is.EqualTo(new EventsMissed(2) { Timestamp = Numbered(1).Timestamp }));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Dispose_ReceiverBusy_CancelsItsTokenStopsDeliveryAndUnregisters(bool disposeAsync)
    {
        await using var hub = NewHub();
        var busy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receiver = new RecordingReceiver(async (_, token) =>
        {
            busy.TrySetResult();
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }
        });
        var subscription = (ReceiverSubscription)hub.Subscribe(receiver, null);
        for (int i = 0; i < 5; i++)
        {
            hub.Publish(Numbered(i));
        }

        await busy.Task.WaitAsync(Timeout);
        if (disposeAsync)
        {
            await subscription.DisposeAsync();
        }
        else
        {
            subscription.Dispose();
        }

        await cancelled.Task.WaitAsync(Timeout);
        await subscription.Completion.WaitAsync(Timeout); // the pump thread is gone: nothing more can be delivered
        hub.Publish(Numbered(5));
        subscription.Dispose();
        await subscription.DisposeAsync();

        Assert.That(receiver.Count, Is.Zero, "the busy call was cancelled; the 4 buffered events were discarded");
        Assert.That(subscription.Faults, Is.Zero, "cancellation by disposal is not a fault");
        Assert.That(hub.SubscriberCount, Is.Zero);
        Assert.That(hub.HasSubscribers, Is.False);
    }

    [Test]
    public async Task WatchAsync_TokenCancelledWhileWaiting_ThrowsOperationCanceledAndUnregisters()
    {
        await using var hub = NewHub();
        using var cts = new CancellationTokenSource();
        var stream = hub.WatchAsync(null, cts.Token);
        Assert.That(hub.SubscriberCount, Is.EqualTo(1), "registered eagerly");
        await using var enumerator = stream.GetAsyncEnumerator();
        var waiting = enumerator.MoveNextAsync().AsTask();

        await cts.CancelAsync();

        Assert.That(async () => await waiting.WaitAsync(Timeout), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(hub.SubscriberCount, Is.Zero);
    }

    [Test]
    public async Task WatchAsync_WithCancellationTokenCancelled_ThrowsOperationCanceledAndUnregisters()
    {
        await using var hub = NewHub();
        using var cts = new CancellationTokenSource();
        var seen = new List<StatusEvent>();
        hub.Publish(Numbered(-1)); // before the call: not seen
        var stream = hub.WatchAsync(null, CancellationToken.None);
        hub.Publish(Numbered(0));

        var consuming = Task.Run(async () =>
        {
            await foreach (var e in stream.WithCancellation(cts.Token))
            {
                seen.Add(e);
                await cts.CancelAsync();
            }
        });

        Assert.That(async () => await consuming.WaitAsync(Timeout), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen.Select(SequenceOf), Is.EqualTo(new long[] { 0 }));
        Assert.That(hub.SubscriberCount, Is.Zero);
    }

    [Test]
    public async Task WatchAsync_TokenCancelledBeforeEnumeration_UnregistersAndEnumerationThrows()
    {
        await using var hub = NewHub();
        using var cts = new CancellationTokenSource();
        var stream = hub.WatchAsync(null, cts.Token);

        await cts.CancelAsync();

        Assert.That(hub.SubscriberCount, Is.Zero);
        await using var enumerator = stream.GetAsyncEnumerator();
        Assert.That(async () => await enumerator.MoveNextAsync(), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task WatchAsync_ConsumerBreaksEarly_Unregisters()
    {
        await using var hub = NewHub();
        var stream = hub.WatchAsync(null, CancellationToken.None);
        for (int i = 0; i < 10; i++)
        {
            hub.Publish(Numbered(i));
        }

        StatusEvent? first = null;
        await foreach (var e in stream)
        {
            first = e;
            break;
        }

        Assert.That(SequenceOf(first!), Is.Zero);
        Assert.That(hub.SubscriberCount, Is.Zero);
        Assert.That(hub.HasSubscribers, Is.False);
    }

    [Test]
    public async Task WatchAsync_EnumeratedTwice_SecondEnumerationThrowsInvalidOperation()
    {
        await using var hub = NewHub();
        var stream = hub.WatchAsync(null, CancellationToken.None);
        hub.Publish(Numbered(0));
        await using var first = stream.GetAsyncEnumerator();
        Assert.That(await first.MoveNextAsync(), Is.True);

        Assert.That(() => stream.GetAsyncEnumerator(), Throws.InvalidOperationException);
        Assert.That(hub.SubscriberCount, Is.EqualTo(1), "the first enumeration still owns the stream");
    }

    [Test]
    public async Task DisposeAsync_Hub_EndsWaitingStreamsNormallyAndStopsReceivers()
    {
        var hub = NewHub();
        await using var enumerator = hub.WatchAsync(null, CancellationToken.None).GetAsyncEnumerator();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = (ReceiverSubscription)hub.Subscribe(
            new RecordingReceiver(async (_, token) =>
            {
                token.Register(() => cancelled.TrySetResult());
                busy.TrySetResult();
                await Task.Delay(System.Threading.Timeout.Infinite, token);
            }),
            null);
        hub.Publish(Numbered(0));
        await busy.Task.WaitAsync(Timeout);
        Assert.That(await enumerator.MoveNextAsync().AsTask().WaitAsync(Timeout), Is.True);
        var waiting = enumerator.MoveNextAsync().AsTask();

        await hub.DisposeAsync();

        Assert.That(await waiting.WaitAsync(Timeout), Is.False, "the stream ends normally");
        await cancelled.Task.WaitAsync(Timeout);
        await subscription.Completion.WaitAsync(Timeout);
        Assert.That(hub.SubscriberCount, Is.Zero);
        Assert.That(() => hub.Subscribe(new RecordingReceiver(), null), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => hub.WatchAsync(null, CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => hub.Publish(Numbered(1)), Throws.Nothing);
        Assert.That(async () => await hub.DisposeAsync(), Throws.Nothing);
    }

    [Test]
    public async Task HasSubscribers_SubscribeAndDispose_Toggles()
    {
        await using var hub = NewHub();
        Assert.That(hub.HasSubscribers, Is.False);

        var subscription = hub.Subscribe(new RecordingReceiver(), null);
        Assert.That(hub.HasSubscribers, Is.True);
        var stream = hub.WatchAsync(null, CancellationToken.None);
        Assert.That(hub.SubscriberCount, Is.EqualTo(2));

        await subscription.DisposeAsync();
        Assert.That(hub.HasSubscribers, Is.True);
        await using (stream.GetAsyncEnumerator())
        {
        }

        Assert.That(hub.HasSubscribers, Is.False);
        Assert.That(hub.SubscriberCount, Is.Zero);
    }

    [Test]
    public async Task Subscribe_BufferCapacityBelowOne_ThrowsArgumentOutOfRange()
    {
        await using var hub = NewHub();
        var filter = new StatusEventFilter { BufferCapacity = 0 };

        Assert.That(() => hub.Subscribe(new RecordingReceiver(), filter), Throws.InstanceOf<ArgumentOutOfRangeException>()
            .With.Property(nameof(ArgumentException.ParamName)).EqualTo("filter"));
        Assert.That(() => hub.WatchAsync(filter, CancellationToken.None), Throws.InstanceOf<ArgumentOutOfRangeException>()
            .With.Property(nameof(ArgumentException.ParamName)).EqualTo("filter"));
        Assert.That(() => hub.Subscribe(null!, null), Throws.ArgumentNullException
            .With.Property(nameof(ArgumentException.ParamName)).EqualTo("receiver"));
        Assert.That(hub.SubscriberCount, Is.Zero);
    }

    [Test]
    public void Constructor_DefaultCapacityBelowOne_ThrowsArgumentOutOfRange()
    {
        Assert.That(() => new EventHub(0, NullLogger.Instance), Throws.InstanceOf<ArgumentOutOfRangeException>()
            .With.Property(nameof(ArgumentException.ParamName)).EqualTo("defaultBufferCapacity"));
    }

    [Test]
    public async Task Publish_FilterThatThrows_LogsAndOtherSubscribersStillGetTheEvent()
    {
        var logger = new RecordingLogger();
        await using var hub = new EventHub(100, logger);
        var broken = new RecordingReceiver();
        var normal = new RecordingReceiver();
        await using var brokenSubscription = hub.Subscribe(broken, new StatusEventFilter { Builders = new ThrowingSet() });
        await using var normalSubscription = hub.Subscribe(normal, null);

        Assert.That(() => hub.Publish(Started("linux", 1, sequence: 0)), Throws.Nothing);

        await normal.WaitForCountAsync(1).WaitAsync(Timeout);
        Assert.That(broken.Count, Is.Zero);
        Assert.That(logger.Entries.Count(e => e.Level == LogLevel.Error), Is.EqualTo(1));
    }

    /// <summary>
    /// Prints publish throughput, end-to-end throughput (until every receiver got or missed every event) and
    /// publish-side allocation with four counting receivers, with the default buffer and with one large enough
    /// that nothing is dropped. Explicit: a measurement, not an assertion on speed. Run:
    /// dotnet test tests/BuildStatus.Core.Tests -c Release --filter Name~Publish_FourSubscribers_PrintsThroughput
    /// --logger "console;verbosity=detailed".
    /// </summary>
    [Explicit("Measurement; prints throughput")]
    [NonParallelizable]
    [TestCase(10_000)]
    [TestCase(5_000_000)]
    public async Task Publish_FourSubscribers_PrintsThroughput(int capacity)
    {
        const int distinct = 1_000_000;
        const int passes = 4;
        var events = new StatusEvent[distinct];
        for (int i = 0; i < distinct; i++)
        {
            events[i] = Numbered(i);
        }

        await using var hub = NewHub(capacity);
        var receivers = Enumerable.Range(0, 4).Select(_ => new CountingReceiver()).ToArray();
        var subscriptions = receivers.Select(r => hub.Subscribe(r, null)).ToArray();

        // Warm-up (JIT tiering), then the measured run on a thread of its own.
        for (int i = 0; i < 100_000; i++)
        {
            hub.Publish(events[i]);
        }

        await WaitUntilAsync(() => subscriptions.All(s => s.Delivered + s.Missed == 100_000), TimeSpan.FromSeconds(60));
        long droppedBefore = hub.TotalDropped;
        var endToEnd = Stopwatch.StartNew();
        var (elapsed, allocated) = await Task.Factory.StartNew(
            () =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                var stopwatch = Stopwatch.StartNew();
                for (int pass = 0; pass < passes; pass++)
                {
                    for (int i = 0; i < events.Length; i++)
                    {
                        hub.Publish(events[i]);
                    }
                }

                stopwatch.Stop();
                return (stopwatch.Elapsed, GC.GetAllocatedBytesForCurrentThread() - before);
            },
            TaskCreationOptions.LongRunning);

        const long published = 100_000 + ((long)distinct * passes);
        await WaitUntilAsync(() => subscriptions.All(s => s.Delivered + s.Missed == published), TimeSpan.FromSeconds(120));
        endToEnd.Stop();
        long measured = (long)distinct * passes;
        TestContext.Out.WriteLine(
            $"capacity {capacity:N0}: published {measured:N0} events to 4 receivers in {elapsed.TotalMilliseconds:N0} ms = " +
            $"{measured / elapsed.TotalSeconds:N0} events/s; all handled after {endToEnd.ElapsedMilliseconds:N0} ms = " +
            $"{measured / endToEnd.Elapsed.TotalSeconds:N0} events/s end to end; publish-thread allocations {allocated:N0} bytes " +
            $"({(double)allocated / measured:N3} bytes/event); dropped {hub.TotalDropped - droppedBefore:N0} of {measured * 4:N0} deliveries");
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }

        Assert.That(subscriptions.Sum(s => s.Delivered + s.Missed), Is.EqualTo(published * 4));
    }

    private static EventHub NewHub(int capacity = 10_000) => new(capacity, NullLogger.Instance);

    // Events carry their sequence number in their timestamp: no status objects needed.
    private static WorkerConnected Numbered(long sequence) => new(Worker) { Timestamp = Origin.AddTicks(sequence) };

    private static long SequenceOf(StatusEvent statusEvent) => (statusEvent.Timestamp - Origin).Ticks;

    private static FakeBuildStatus Build(string builder, int number) => new(new FakeBuilderStatus(builder), number);

    private static BuildStarted Started(string builder, int number, long sequence)
        => new(Build(builder, number)) { Timestamp = Origin.AddTicks(sequence) };

    private static async Task<List<StatusEvent>> ReadAsync(IAsyncEnumerable<StatusEvent> stream, int count)
    {
        var events = new List<StatusEvent>(count);
        await foreach (var e in stream)
        {
            events.Add(e);
            if (events.Count == count)
            {
                break;
            }
        }

        return events;
    }

    // Proves a filter let nothing else through: a marker event that the filter passes is published last, and,
    // delivery being ordered, once it arrives everything published before it has been filtered or delivered.
    private static async Task AssertNothingMoreAfterMarkerAsync(EventHub hub, RecordingReceiver receiver, int expected, StatusEventFilter filter)
    {
        var marker = new BuildFinished(Build(filter.Builders!.Single(), filter.BuildNumber ?? 1), BuildResult.Success) { Timestamp = Origin.AddYears(1) };
        hub.Publish(marker);
        await receiver.WaitForCountAsync(expected + 1).WaitAsync(Timeout);
        Assert.That(receiver.Events[^1], Is.SameAs(marker));
        Assert.That(receiver.Count, Is.EqualTo(expected + 1));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > (timeout ?? Timeout))
            {
                Assert.Fail("condition not met in time");
            }

            await Task.Delay(5);
        }
    }

    private sealed class ThrowingSet : IReadOnlySet<string>
    {
        public int Count => 1;

        public bool Contains(string item) => throw new InvalidOperationException("broken filter set");

        public IEnumerator<string> GetEnumerator() => throw new InvalidOperationException("broken filter set");

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public bool IsProperSubsetOf(IEnumerable<string> other) => throw new NotSupportedException();

        public bool IsProperSupersetOf(IEnumerable<string> other) => throw new NotSupportedException();

        public bool IsSubsetOf(IEnumerable<string> other) => throw new NotSupportedException();

        public bool IsSupersetOf(IEnumerable<string> other) => throw new NotSupportedException();

        public bool Overlaps(IEnumerable<string> other) => throw new NotSupportedException();

        public bool SetEquals(IEnumerable<string> other) => throw new NotSupportedException();
    }
}
