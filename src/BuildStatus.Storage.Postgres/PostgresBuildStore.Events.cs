using BuildStatus.Storage.Postgres.Internal;
using Npgsql;

namespace BuildStatus.Storage.Postgres;

/// <summary>
/// The event outbox (<see cref="IBuildEventFeed"/>): every batch writes its events in its own transaction; other hosts
/// read them from the sequence they have seen, woken by <c>LISTEN</c>/<c>NOTIFY</c> on one dedicated connection per
/// store, with Core's polling (<see cref="BuildStatusOptions.OtherHostsPollInterval"/>) as the safety net.
/// </summary>
/// <remarks>
/// <para>
/// Ordering: the insert into the outbox takes a transaction-scoped advisory lock that it holds to the commit, so
/// sequence order is commit order across hosts (a reader never skips an event that commits later with a smaller
/// sequence). The lock is held only for the insert and the commit; batches that write no events do not take it.
/// <c>NOTIFY</c> carries only the newest sequence (a number, far below the server's 8,000-byte payload limit).
/// </para>
/// <para>
/// Connections: from the first wait for events (a subscriber on this host asked for other hosts' events) until the
/// store is disposed, the listener holds one connection
/// (a connection of the store's pool, counted in <see cref="PostgresStorageOptions.MaxConnections"/>, or one opened
/// with <see cref="PostgresStorageOptions.ListenConnectionString"/> when that is set — required behind a pooler in
/// transaction mode such as PgBouncer, which cannot carry <c>LISTEN</c>). After 15 s of silence it checks the
/// connection with a query; when the connection is lost it reconnects with backoff (100 ms doubling to 5 s), listens
/// again and wakes the readers, which read from the last sequence they delivered, so nothing is skipped.
/// </para>
/// <para>
/// Retention: events written (by the server's clock) longer ago than <see cref="PostgresStorageOptions.EventRetention"/> are deleted by the host that
/// writes next, at most once a minute; a reader behind them gets <see cref="EventsMissed"/>.
/// </para>
/// </remarks>
public sealed partial class PostgresBuildStore : IBuildEventFeed
{
    private static readonly TimeSpan EventPruneInterval = TimeSpan.FromMinutes(1);

    private readonly EventOutbox _outbox;
    private readonly EventListener _listener;

    // When the outbox was last pruned (TimeProvider ticks); written under _writeLock only.
    private long _lastEventPrune = long.MinValue;

    /// <summary>Gets whether the store keeps the event outbox (<see cref="PostgresStorageOptions.ShareEvents"/>).</summary>
    public bool SupportsEvents => _options.ShareEvents;

    /// <summary>Gets the listener; for tests.</summary>
    internal EventListener Listener => _listener;

    /// <inheritdoc/>
    /// <exception cref="BuildStoreException">The server could not be reached or the read failed; the message names the host, port and database.</exception>
    /// <exception cref="NotSupportedException"><see cref="PostgresStorageOptions.ShareEvents"/> is off.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<long> GetLastEventSequenceAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotSharing();
        ThrowIfDisposed();
        return ReadAsync((connection, token) => Wrap(() => _outbox.LastAsync(connection, token), "Reading the event outbox"), cancellationToken);
    }

    /// <inheritdoc/>
    /// <exception cref="BuildStoreException">The server could not be reached or the read failed; the message names the host, port and database.</exception>
    /// <exception cref="NotSupportedException"><see cref="PostgresStorageOptions.ShareEvents"/> is off.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<StoredEventPage> ReadEventsAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        ThrowIfNotSharing();
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ThrowIfDisposed();
        return ReadAsync((connection, token) => Wrap(() => _outbox.ReadAsync(connection, afterSequence, maxCount, token), "Reading the event outbox"), cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>Starts the store's listener on first use (see the type's remarks); returns at once when a notification
    /// above <paramref name="afterSequence"/> has already arrived.</remarks>
    /// <exception cref="NotSupportedException"><see cref="PostgresStorageOptions.ShareEvents"/> is off.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public Task<bool> WaitForEventsAsync(long afterSequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfNotSharing();
        ThrowIfDisposed();
        return _listener.WaitAsync(afterSequence, timeout, cancellationToken);
    }

    private void ThrowIfNotSharing()
    {
        if (!_options.ShareEvents)
        {
            throw new NotSupportedException("This PostgreSQL store does not share events: PostgresStorageOptions.ShareEvents is off.");
        }
    }

    private async Task<T> Wrap<T>(Func<Task<T>> read, string what)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw new BuildStoreException($"{what} on the {_target} failed: {e.Message}", e);
        }
    }

    // Called with _writeLock held, after a batch committed: deletes expired events at most once a minute.
    private async Task PruneEventsIfDueAsync(NpgsqlConnection connection)
    {
        if (!_options.ShareEvents)
        {
            return;
        }

        var now = _timeProvider.GetTimestamp();
        if (_lastEventPrune != long.MinValue && _timeProvider.GetElapsedTime(_lastEventPrune, now) < EventPruneInterval)
        {
            return;
        }

        _lastEventPrune = now;
        try
        {
            await _outbox.PruneAsync(connection, _options.EventRetention, CancellationToken.None).ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            // Best effort: the batch is committed; the next prune catches up.
        }
    }

    private async Task<NpgsqlConnection> OpenListenConnectionAsync(CancellationToken cancellationToken)
    {
        if (_options.ListenConnectionString is { } listen)
        {
            var connection = new NpgsqlConnection(listen);
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }
}
