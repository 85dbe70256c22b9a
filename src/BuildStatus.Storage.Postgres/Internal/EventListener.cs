using System.Globalization;
using Npgsql;

namespace BuildStatus.Storage.Postgres.Internal;

/// <summary>
/// The store's one LISTEN connection: started by the first wait for events, it listens on the schema's channel and
/// wakes waiters when a notification arrives, and also when the connection was lost and LISTEN is in place again (a
/// notice may have been missed meanwhile, so readers must read). Reconnects with backoff; checks the connection with
/// a query after <see cref="KeepaliveInterval"/> of silence, so a dead connection is noticed without traffic.
/// </summary>
/// <remarks>
/// Threading: <c>_loop</c> is guarded by <c>_gate</c>; the signal is thread-safe itself (notified by the listen loop
/// and the notification handler, waited on by readers on any thread); the connection is owned by the listen loop.
/// </remarks>
internal sealed class EventListener : IAsyncDisposable
{
    /// <summary>How long the connection may be silent before the listener checks it with a query.</summary>
    public static readonly TimeSpan KeepaliveInterval = TimeSpan.FromSeconds(15);

    private readonly Func<CancellationToken, Task<NpgsqlConnection>> _open;
    private readonly string _channel;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SequenceSignal _signal = new();
    private Task? _loop;
    private long _reconnects;

    public EventListener(Func<CancellationToken, Task<NpgsqlConnection>> open, string channel, TimeProvider time)
    {
        _open = open;
        _channel = channel;
        _time = time;
    }

    /// <summary>Gets how many times LISTEN was established after a loss; for tests.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Gets whether LISTEN is in place right now; for tests.</summary>
    public bool IsListening { get; private set; }

    /// <summary>Waits until a notification above <paramref name="afterSequence"/> arrives, LISTEN is re-established, or the timeout passes.</summary>
    public Task<bool> WaitAsync(long afterSequence, TimeSpan timeout, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _loop ??= Task.Run(() => ListenAsync(_stop.Token), CancellationToken.None);
        }

        return _signal.WaitAsync(afterSequence, timeout, _time, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        _stop.Dispose();
    }

    private void Wake(long sequence) => _signal.Notify(sequence);

    private async Task ListenAsync(CancellationToken token)
    {
        var failures = 0;
        var first = true;
        while (!token.IsCancellationRequested)
        {
            NpgsqlConnection? connection = null;
            try
            {
                connection = await _open(token).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    if (long.TryParse(e.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
                    {
                        Wake(sequence);
                    }
                };
                var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection);
                await using (listen.ConfigureAwait(false))
                {
                    await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                IsListening = true;
                if (!first)
                {
                    Interlocked.Increment(ref _reconnects);
                }

                first = false;
                failures = 0;

                // Whatever was committed while nobody listened is read now: wake every waiter once.
                Wake(0);
                while (!token.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(KeepaliveInterval, token).ConfigureAwait(false))
                    {
                        var ping = new NpgsqlCommand("SELECT 1", connection);
                        await using var pingScope = ping.ConfigureAwait(false);
                        await ping.ExecuteScalarAsync(token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Lost (server restart, network): listen again after a backoff; readers poll meanwhile.
                IsListening = false;
                failures++;
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * Math.Pow(2, Math.Min(failures - 1, 6)), 5_000)), _time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            finally
            {
                IsListening = false;
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }
}
