namespace BuildStatus.Storage;

/// <summary>
/// The optional part of the storage SPI that carries status events between hosts sharing one history: an outbox that
/// Core writes with each batch (<see cref="WriteBatch.Events"/>, in the batch's transaction) and that every host reads
/// from the last sequence it has seen. Core detects it with a type test on the <see cref="IBuildStore"/> and uses it
/// when <see cref="SupportsEvents"/> is <see langword="true"/>; a subscriber receives other hosts' events when its filter
/// sets <see cref="StatusEventFilter.IncludeOtherHosts"/>.
/// </summary>
/// <remarks>
/// Contract: a store that supports events writes every <see cref="WriteBatch.Events"/> row with the batch, all or
/// nothing, assigning <see cref="StoredEvent.Sequence"/> in commit order (see <see cref="StoredEvent"/>); a batch
/// without <see cref="WriteBatch.Events"/> writes none. It may delete old events (retention) and then reports the
/// highest deleted sequence in <see cref="StoredEventPage.PrunedThrough"/>. Reads never block writes. The methods may be
/// called concurrently with each other and with every <see cref="IBuildStore"/> member, after
/// <see cref="IBuildStore.InitializeAsync"/>.
/// </remarks>
public interface IBuildEventFeed
{
    /// <summary>
    /// Gets whether this object really stores events. A wrapper that implements the interface to forward it says here
    /// whether what it wraps does.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    bool SupportsEvents => true;

    /// <summary>Returns the highest sequence written so far (0 when none), the point from which a new reader starts.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sequence.</returns>
    Task<long> GetLastEventSequenceAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads up to <paramref name="maxCount"/> committed events with a sequence above <paramref name="afterSequence"/>, in sequence order.</summary>
    /// <param name="afterSequence">The last sequence the reader has seen (0 or more).</param>
    /// <param name="maxCount">The most events to return (1 or more).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The events, and the retention horizon.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="afterSequence"/> is negative or <paramref name="maxCount"/> is below 1.</exception>
    Task<StoredEventPage> ReadEventsAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until events above <paramref name="afterSequence"/> may have been committed (a store with notifications
    /// returns as soon as one arrives, or at once when its notification channel was lost and re-established, since a
    /// notice may have been missed meanwhile), or until <paramref name="timeout"/> has passed. Core reads after each
    /// return, whatever it says, so a missed notification costs at most one timeout. The default waits out the timeout.
    /// </summary>
    /// <param name="afterSequence">The last sequence the reader has seen.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="true"/> when woken by a notification; <see langword="false"/> on timeout.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    async Task<bool> WaitForEventsAsync(long afterSequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
        return false;
    }
}
