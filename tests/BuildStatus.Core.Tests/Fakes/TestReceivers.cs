using System.Collections.Concurrent;

namespace BuildStatus.Core.Tests.Fakes;

/// <summary>
/// Records every event it receives, in order, after running an optional hook (which may block, throw or wait).
/// Calls come from one thread at a time, as <see cref="IStatusReceiver"/> promises.
/// </summary>
internal sealed class RecordingReceiver(Func<StatusEvent, CancellationToken, ValueTask>? hook = null) : IStatusReceiver
{
    private readonly Lock _gate = new();
    private readonly List<StatusEvent> _events = [];
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];

    public IReadOnlyList<StatusEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>Completes when at least <paramref name="count"/> events (notices included) have been recorded.</summary>
    public Task WaitForCountAsync(int count)
    {
        lock (_gate)
        {
            if (_events.Count >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, reached));
            return reached.Task;
        }
    }

    public async ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
    {
        if (hook is not null)
        {
            await hook(statusEvent, cancellationToken);
        }

        lock (_gate)
        {
            _events.Add(statusEvent);
            _waiters.RemoveAll(w => w.Count <= _events.Count && w.Reached.TrySetResult());
        }
    }
}

/// <summary>Counts events without keeping them: the cheapest receiver, for throughput runs.</summary>
internal sealed class CountingReceiver : IStatusReceiver
{
    private long _count;

    public long Count => Volatile.Read(ref _count);

    public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _count, _count + 1);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Throws on every event it receives.</summary>
internal sealed class ThrowingReceiver : IStatusReceiver
{
    private readonly ConcurrentQueue<StatusEvent> _seen = new();

    public int Calls => _seen.Count;

    public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
    {
        _seen.Enqueue(statusEvent);
        throw new InvalidOperationException("receiver failure for the test");
    }
}
