using BenchmarkDotNet.Attributes;
using BuildStatus.Events;
using Microsoft.Extensions.Logging.Abstractions;

namespace BuildStatus.Benchmarks;

/// <summary>
/// Event fan-out end to end: publish a burst of events on the internal <see cref="EventHub"/> and wait until every
/// receiver (each on its own pump) has handled all of them. One operation = one event published and delivered to
/// every subscriber, so events/s = 1 / (time per op).
/// </summary>
public class EventFanOutBenchmarks
{
    private const int Burst = 10_000;

    private EventHub _hub = null!;
    private CountingReceiver[] _receivers = [];
    private IStatusSubscription[] _subscriptions = [];
    private StatusEvent _event = null!;
    private CountdownEvent _done = null!;
    private long _target;
    private BenchHost _host = null!;

    [Params(1, 4, 16)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void GlobalSetup()
    {
        _host = BenchHost.Start();
        var builder = _host.Host.AddBuilder("b");
        _event = new BuilderStateChanged(builder, BuilderState.Idle) { Timestamp = DateTimeOffset.UtcNow };
        _hub = new EventHub(Burst * 2, NullLogger.Instance);
        _done = new CountdownEvent(Subscribers);
        _receivers = new CountingReceiver[Subscribers];
        _subscriptions = new IStatusSubscription[Subscribers];
        for (var i = 0; i < Subscribers; i++)
        {
            _receivers[i] = new CountingReceiver(this);
            _subscriptions[i] = _hub.Subscribe(_receivers[i], filter: null);
        }
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        if (_hub.TotalDropped != 0)
        {
            throw new InvalidOperationException($"{_hub.TotalDropped} events were dropped: the figures are not end to end.");
        }

        _hub.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Burst)]
    public void PublishAndDeliver()
    {
        _done.Reset(Subscribers);
        Volatile.Write(ref _target, Volatile.Read(ref _target) + Burst);
        for (var i = 0; i < Burst; i++)
        {
            _hub.Publish(_event);
        }

        _done.Wait();
    }

    private sealed class CountingReceiver(EventFanOutBenchmarks owner) : IStatusReceiver
    {
        private long _count;

        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
        {
            // One pump per receiver calls this, so the counter needs no interlocking.
            if (++_count == Volatile.Read(ref owner._target))
            {
                owner._done.Signal();
            }

            return ValueTask.CompletedTask;
        }
    }
}
