using BuildStatus.Internal;
using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>The in-memory store's event outbox (<see cref="IBuildEventFeed"/>): hosts sharing one store object see each other's events.</summary>
public sealed partial class InMemoryBuildStore : IBuildEventFeed
{
    // Guarded by _gate, like all of the store's state: the retained events oldest first, the last sequence assigned,
    // the highest one retention removed. The signal (thread-safe itself) wakes waiters after each write.
    private readonly Queue<StoredEvent> _events = new();
    private readonly SequenceSignal _eventWritten = new();
    private long _lastEventSequence;
    private long _eventsPrunedThrough;

    /// <summary>
    /// Gets how many events the outbox keeps; older ones are removed (retention) and a reader that had not read them is
    /// told (<see cref="StoredEventPage.PrunedThrough"/>). The default is 10,000.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set below 1.</exception>
    public int EventCapacity
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    }

    = 10_000;

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<long> GetLastEventSequenceAsync(CancellationToken cancellationToken = default) => Run(() => _lastEventSequence, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<StoredEventPage> ReadEventsAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        return Run(
            () =>
            {
                var page = new List<StoredEvent>(Math.Min(maxCount, _events.Count));
                foreach (var e in _events)
                {
                    if (e.Sequence > afterSequence)
                    {
                        page.Add(e);
                        if (page.Count == maxCount)
                        {
                            break;
                        }
                    }
                }

                return new StoredEventPage(page.AsReadOnly(), _eventsPrunedThrough);
            },
            cancellationToken);
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<bool> WaitForEventsAsync(long afterSequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
        }

        return _eventWritten.WaitAsync(afterSequence, timeout, TimeProvider.System, cancellationToken);
    }

    // Called under _gate by ApplyAsync, after the batch's rows.
    private void AppendEvents(IReadOnlyList<StoredEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        foreach (var e in events)
        {
            _events.Enqueue(e with { Sequence = ++_lastEventSequence, Timestamp = StorageTime.Truncate(e.Timestamp) });
        }

        while (_events.Count > EventCapacity)
        {
            _eventsPrunedThrough = _events.Dequeue().Sequence;
        }

        _eventWritten.Notify(_lastEventSequence);
    }
}
