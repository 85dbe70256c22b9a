using BuildStatus.Storage.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite;

/// <summary>
/// The event outbox (<see cref="IBuildEventFeed"/>), when <see cref="SqliteStorageOptions.ShareEvents"/> is on: every
/// batch writes its events in its own transaction, and other processes on the same file read them from the sequence
/// they have seen. SQLite has no notifications between processes, so other processes find new events when Core polls
/// (<see cref="BuildStatusOptions.OtherHostsPollInterval"/>); a wait returns early only for this store object's own
/// writes.
/// </summary>
public sealed partial class SqliteBuildStore : IBuildEventFeed
{
    // Wakes waiters when this store object commits a batch with events (thread-safe itself).
    private readonly SequenceSignal _eventsWritten = new();

    /// <summary>Gets whether the store writes and reads the event outbox (<see cref="SqliteStorageOptions.ShareEvents"/>).</summary>
    public bool SupportsEvents => _options.ShareEvents;

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException"><see cref="SqliteStorageOptions.ShareEvents"/> is off.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<long> GetLastEventSequenceAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotSharing();
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT coalesce((SELECT max(seq) FROM events), (SELECT pruned_through FROM event_horizon))";
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException"><see cref="SqliteStorageOptions.ShareEvents"/> is off.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async Task<StoredEventPage> ReadEventsAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ThrowIfNotSharing();
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One read transaction: the rows and the horizon come from one snapshot of the file.
            using var transaction = connection.BeginTransaction(deferred: true);
            var events = new List<StoredEvent>(Math.Min(maxCount, 256));
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "SELECT seq, instance_id, host_name, kind, at, builder_name, build_number, step_number, log_number, state_text, result, first_line, line_count FROM events WHERE seq > $after ORDER BY seq LIMIT $max";
                command.Parameters.AddWithValue("$after", afterSequence);
                command.Parameters.AddWithValue("$max", maxCount);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    events.Add(new StoredEvent((StatusEventKinds)reader.GetInt64(3), UnixTime.FromStored(reader.GetInt64(4)), reader.GetString(5), (int)reader.GetInt64(6))
                    {
                        Sequence = reader.GetInt64(0),
                        InstanceId = reader.GetInt64(1),
                        HostName = reader.GetString(2),
                        StepNumber = reader.IsDBNull(7) ? null : (int)reader.GetInt64(7),
                        LogNumber = reader.IsDBNull(8) ? null : (int)reader.GetInt64(8),
                        Text = reader.IsDBNull(9) ? null : reader.GetString(9),
                        Result = reader.IsDBNull(10) ? null : (BuildResult)reader.GetInt64(10),
                        FirstLine = reader.GetInt64(11),
                        LineCount = (int)reader.GetInt64(12),
                    });
                }
            }

            long prunedThrough;
            using (var horizon = connection.CreateCommand())
            {
                horizon.Transaction = transaction;
                horizon.CommandText = "SELECT pruned_through FROM event_horizon";
                prunedThrough = (long)(await horizon.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            transaction.Commit();
            return new StoredEventPage(events.AsReadOnly(), prunedThrough);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException"><see cref="SqliteStorageOptions.ShareEvents"/> is off.</exception>
    public Task<bool> WaitForEventsAsync(long afterSequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfNotSharing();
        return _eventsWritten.WaitAsync(afterSequence, timeout, TimeProvider.System, cancellationToken);
    }

    // Called after a batch with events committed (its sequences are not known here: 0 wakes without recording one).
    private void SignalEventsWritten() => _eventsWritten.Notify(0);

    private void ThrowIfNotSharing()
    {
        if (!_options.ShareEvents)
        {
            throw new NotSupportedException("This SQLite store does not share events: set SqliteStorageOptions.ShareEvents on every process that shares the file.");
        }
    }
}
