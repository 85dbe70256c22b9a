using BuildStatus.Storage;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Process;

/// <summary>
/// This host's identity in a store with instances: registers an instance at start, renews its lease every
/// HeartbeatInterval, recovers dead instances (claim, finish their builds as Retry, complete), and handles being
/// fenced (the live builds are lost, a new instance is registered before more work starts).
/// </summary>
/// <remarks>
/// Threads: the heartbeat loop runs on the thread pool; <see cref="_current"/> and <see cref="_live"/> are replaced
/// (never mutated) and read anywhere; <see cref="_fenceLock"/> guards <see cref="_fencing"/> and <see cref="_fencedId"/>.
/// </remarks>
internal sealed partial class InstanceLease : IDisposable
{
    private readonly IBuildInstanceStore _store;
    private readonly BuildStatusHost _host;
    private readonly HostContext _ctx;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private volatile StoredInstance? _current;
    private IReadOnlyList<StoredInstance> _live = [];
    private Task? _loop;

    private readonly Lock _fenceLock = new();
    private Task _fencing = Task.CompletedTask;
    private long _fencedId;
    private volatile bool _isFenced;

    // The store's clock minus this host's, as seen at the last registration or renewal (zero for a store that keeps
    // Core's times; a database server stamps its own), so the live instances are judged on the clock every host
    // shares. Ticks, written and read with Volatile (registration, the heartbeat loop and the fencing task).
    private long _storeClockOffset;

    // Whether the last heartbeat could not renew the lease (the store was unreachable). Owned by the heartbeat loop
    // (TickAsync runs on it alone).
    private bool _lastRenewalFailed;

    public InstanceLease(IBuildInstanceStore store, BuildStatusHost host, HostContext ctx)
    {
        _store = store;
        _host = host;
        _ctx = ctx;
        _logger = ctx.Logger;
    }

    public StoredInstance? Current => _current;

    public long? CurrentId => _current?.Id;

    public bool IsFenced => _isFenced;

    /// <summary>Gets the highest id of this host's instances that were fenced (0 for none): builds they created are lost.</summary>
    public long FencedUpTo => Volatile.Read(ref _fencedId);

    public IReadOnlyList<StoredInstance> LiveInstances => Volatile.Read(ref _live);

    /// <summary>Completes once the instance is registered and not fenced (at once, normally).</summary>
    public Task WhenReady
    {
        get
        {
            lock (_fenceLock)
            {
                return _fencing;
            }
        }
    }

    public async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var options = _ctx.Options;
        var asked = _ctx.Now;
        var instance = await _store.RegisterInstanceAsync(options.HostName, asked, options.LeaseDuration, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _storeClockOffset, (instance.HeartbeatAt - asked).Ticks);
        _current = instance;
        _ctx.Pipeline.InstanceId = instance.Id;
        _ctx.Metrics.Instance.Set(instance.Id);
        Log.Registered(_logger, instance.Id, instance.HostName, options.LeaseDuration);
        await RefreshLiveAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_ctx.Options.HeartbeatInterval, _ctx.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await TickAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One heartbeat: renew the lease, recover dead instances, refresh the list of live ones.</summary>
    internal async Task TickAsync(CancellationToken cancellationToken)
    {
        if (_current is not { } me || _isFenced)
        {
            return;
        }

        var renewedNow = false;
        try
        {
            var asked = _ctx.Now;
            var renewed = await _store.RenewLeaseAsync(me.Id, asked, _ctx.Options.LeaseDuration, cancellationToken).ConfigureAwait(false);
            if (renewed is null)
            {
                await OnFencedAsync(new InstanceFencedException($"The lease of instance {me.Id} could not be renewed: another instance claimed it for recovery.")).ConfigureAwait(false);
                return;
            }

            if (_current?.Id == renewed.Id)
            {
                _current = renewed;
                Volatile.Write(ref _storeClockOffset, (renewed.HeartbeatAt - asked).Ticks);
            }

            renewedNow = true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.RenewFailed(_logger, ex, me.Id);
        }

        // After an outage of the store longer than the lease, every instance's lease has run out on the store's clock;
        // the first host back must not recover the others before they had a heartbeat to renew theirs. So a host
        // judges others dead only from its second successful renewal in a row.
        var mayRecover = renewedNow && !_lastRenewalFailed;
        _lastRenewalFailed = !renewedNow;
        try
        {
            if (mayRecover)
            {
                await RecoverDeadAsync(cancellationToken).ConfigureAwait(false);
            }

            await RefreshLiveAsync(cancellationToken).ConfigureAwait(false);
            await _host.SyncRequestsAsync(_store, cancellationToken).ConfigureAwait(false);
        }
        catch (InstanceFencedException ex)
        {
            await OnFencedAsync(ex).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.RecoveryFailed(_logger, ex);
        }
    }

    private async Task RefreshLiveAsync(CancellationToken cancellationToken)
    {
        var now = _ctx.Now + TimeSpan.FromTicks(Volatile.Read(ref _storeClockOffset));
        var all = await _store.GetInstancesAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _live, all.Where(i => i.IsLiveAt(now)).ToArray());
    }

    /// <summary>Claims the dead instances nobody live holds and finishes their unfinished builds as Retry, exactly once.</summary>
    public async Task RecoverDeadAsync(CancellationToken cancellationToken)
    {
        if (_current is not { } me)
        {
            return;
        }

        var claimed = await _store.ClaimDeadInstancesAsync(me.Id, _ctx.Now, cancellationToken).ConfigureAwait(false);
        foreach (var dead in claimed)
        {
            var why = dead.StoppedAt is not null ? "stopped" : "lost its lease";
            var text = $"interrupted: instance {dead.Id} of host '{dead.HostName}' {why} before the build finished";
            var builds = await _store.GetUnfinishedBuildsOfInstanceAsync(dead.Id, cancellationToken).ConfigureAwait(false);
            foreach (var build in builds)
            {
                await _host.FinishInterruptedAsync(build, text, me.Id, cancellationToken).ConfigureAwait(false);
            }

            var released = await _store.ReleaseRequestsAsync(dead.Id, cancellationToken).ConfigureAwait(false);
            await _store.CompleteRecoveryAsync(dead.Id, me.Id, _ctx.Now, cancellationToken).ConfigureAwait(false);
            if (released > 0)
            {
                Log.ReleasedRequests(_logger, released, dead.Id);
            }
            Log.RecoveredInstance(_logger, dead.Id, dead.HostName, builds.Count, why);
        }
    }

    /// <summary>
    /// Called when a write or a renewal was refused because this instance was claimed: its live builds are lost (another
    /// instance finished them), and a new instance is registered. Idempotent per fenced instance.
    /// </summary>
    /// <returns>A task that completes when the new instance is registered.</returns>
    public Task OnFencedAsync(InstanceFencedException cause)
    {
        lock (_fenceLock)
        {
            var id = _current?.Id ?? 0;
            if (_fencedId == id)
            {
                return _fencing;
            }

            Volatile.Write(ref _fencedId, id);
            _isFenced = true;
            _fencing = FenceAsync(id, cause);
            return _fencing;
        }
    }

    private async Task FenceAsync(long id, InstanceFencedException cause)
    {
        await Task.Yield();
        Log.Fenced(_logger, cause, id);
        _host.LoseLiveBuilds($"lost: instance {id} of host '{_ctx.Options.HostName}' was fenced after its lease expired; another instance finished the build", cause);
        for (var attempt = 1; !_stop.IsCancellationRequested; attempt++)
        {
            try
            {
                await RegisterAsync(_stop.Token).ConfigureAwait(false);
                _isFenced = false;
                Log.Reregistered(_logger, id, _current!.Id);
                return;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.RenewFailed(_logger, ex, id);
                await Task.Delay(_ctx.Pipeline.RetryDelay(attempt), _ctx.Time, _stop.Token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops the heartbeats and marks the instance stopped, so its builds (if any were left) may be recovered at once.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        if (_current is { } me)
        {
            try
            {
                await _store.StopInstanceAsync(me.Id, _ctx.Now, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Its lease runs out instead.
                Log.RenewFailed(_logger, ex, me.Id);
            }
        }

    }

    public void Dispose() => _stop.Dispose();

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "Registered instance {Id} of host '{HostName}' (lease {Lease}).")]
        public static partial void Registered(ILogger logger, long id, string hostName, TimeSpan lease);

        [LoggerMessage(31, LogLevel.Warning, "Renewing the lease of instance {Id} failed; it is tried again at the next heartbeat.")]
        public static partial void RenewFailed(ILogger logger, Exception exception, long id);

        [LoggerMessage(32, LogLevel.Warning, "Recovering dead instances failed; it is tried again at the next heartbeat.")]
        public static partial void RecoveryFailed(ILogger logger, Exception exception);

        [LoggerMessage(33, LogLevel.Warning, "Recovered instance {Id} of host '{HostName}', which {Why}: {Count} unfinished builds finished as Retry.")]
        public static partial void RecoveredInstance(ILogger logger, long id, string hostName, int count, string why);

        [LoggerMessage(34, LogLevel.Critical, "Instance {Id} was fenced: its lease expired and another instance recovered its builds. Its live builds are lost; a new instance is registered.")]
        public static partial void Fenced(ILogger logger, Exception exception, long id);

        [LoggerMessage(36, LogLevel.Information, "{Count} build requests claimed by dead instance {Id} returned to pending.")]
        public static partial void ReleasedRequests(ILogger logger, int count, long id);

        [LoggerMessage(35, LogLevel.Warning, "Fenced instance {Old} re-registered as instance {New}.")]
        public static partial void Reregistered(ILogger logger, long old, long @new);
    }
}
