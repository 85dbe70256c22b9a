using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>The in-memory store's instances, leases and idempotent creation (<see cref="IBuildInstanceStore"/>).</summary>
public sealed partial class InMemoryBuildStore
{
    // Guarded by _gate, like all of the store's state. Instances by id (ids never reused); creation ids to builds.
    private readonly SortedDictionary<long, StoredInstance> _instances = [];
    private readonly Dictionary<string, BuildKey> _creations = new(StringComparer.Ordinal);
    private long _lastInstanceId;
    private readonly SortedDictionary<long, StoredBuildRequest> _requests = [];

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<bool> ClaimRequestAsync(long requestId, long instanceId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            ThrowIfFenced(instanceId);
            if (!_requests.TryGetValue(requestId, out var request) || request.State != BuildRequestState.Pending)
            {
                return Task.FromResult(false);
            }

            _requests[requestId] = request with { State = BuildRequestState.Claimed, ClaimedBy = instanceId };
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<int> ReleaseRequestsAsync(long instanceId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            var released = 0;
            foreach (var request in _requests.Values.ToArray())
            {
                if (request.State == BuildRequestState.Claimed && request.ClaimedBy == instanceId)
                {
                    _requests[request.Id] = request with { State = BuildRequestState.Pending, ClaimedBy = null };
                    released++;
                }
            }

            return Task.FromResult(released);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredBuildRequest>> GetRequestsAsync(string? builderName, BuildRequestState? state, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult<IReadOnlyList<StoredBuildRequest>>([.. _requests.Values.Where(r =>
                (builderName is null || string.Equals(r.BuilderName, builderName, StringComparison.Ordinal)) && (state is null || r.State == state))]);
        }
    }

    // Caller holds _gate. Started and cancelled are final; otherwise the last write wins (a claim is made in storage,
    // after the submitting instance's first row was committed).
    private void PutRequests(IReadOnlyList<StoredBuildRequest> rows)
    {
        foreach (var row in rows)
        {
            if (_requests.TryGetValue(row.Id, out var stored) && stored.State is BuildRequestState.Started or BuildRequestState.Cancelled)
            {
                continue;
            }

            _requests[row.Id] = row with { SourceStamps = [.. row.SourceStamps], Properties = new Dictionary<string, PropertyValue>(row.Properties, StringComparer.Ordinal) };
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<StoredInstance> RegisterInstanceAsync(string hostName, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        cancellationToken.ThrowIfCancellationRequested();
        now = StorageTime.Truncate(now);
        lock (_gate)
        {
            ThrowIfDisposed();
            var instance = new StoredInstance(++_lastInstanceId, hostName, now, now, StorageTime.Truncate(now + lease), null, null, null);
            _instances[instance.Id] = instance;
            return Task.FromResult(instance);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<StoredInstance?> RenewLeaseAsync(long instanceId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        now = StorageTime.Truncate(now);
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_instances.TryGetValue(instanceId, out var instance) || instance.ClaimedBy is not null || instance.StoppedAt is not null)
            {
                return Task.FromResult<StoredInstance?>(null);
            }

            instance = instance with { HeartbeatAt = now, ExpiresAt = StorageTime.Truncate(now + lease) };
            _instances[instanceId] = instance;
            return Task.FromResult<StoredInstance?>(instance);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task StopInstanceAsync(long instanceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_instances.TryGetValue(instanceId, out var instance) && instance.StoppedAt is null)
            {
                _instances[instanceId] = instance with { StoppedAt = StorageTime.Truncate(now) };
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredInstance>> GetInstancesAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult<IReadOnlyList<StoredInstance>>([.. _instances.Values.Where(i => i.RecoveredAt is null)]);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredInstance>> ClaimDeadInstancesAsync(long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        now = StorageTime.Truncate(now);
        lock (_gate)
        {
            ThrowIfDisposed();
            ThrowIfFenced(claimerId);
            var claimed = new List<StoredInstance>();
            foreach (var instance in _instances.Values.ToArray())
            {
                if (instance.Id == claimerId || instance.RecoveredAt is not null || instance.IsLiveAt(now))
                {
                    continue;
                }

                if (instance.ClaimedBy is { } holder && holder != claimerId && _instances.TryGetValue(holder, out var h) && h.IsLiveAt(now))
                {
                    continue;
                }

                var mine = instance with { ClaimedBy = claimerId };
                _instances[instance.Id] = mine;
                claimed.Add(mine);
            }

            return Task.FromResult<IReadOnlyList<StoredInstance>>(claimed);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task<IReadOnlyList<StoredBuild>> GetUnfinishedBuildsOfInstanceAsync(long instanceId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            var builds = _unfinished.Select(k => FindBuild(k)!.Build).Where(b => b.InstanceId == instanceId)
                .OrderBy(b => b.BuilderName, StringComparer.Ordinal).ThenBy(b => b.Number).ToArray();
            return Task.FromResult<IReadOnlyList<StoredBuild>>(builds);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public Task CompleteRecoveryAsync(long instanceId, long claimerId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_instances.TryGetValue(instanceId, out var instance) && instance.ClaimedBy == claimerId && instance.RecoveredAt is null)
            {
                _instances[instanceId] = instance with { RecoveredAt = StorageTime.Truncate(now) };
            }
        }

        return Task.CompletedTask;
    }

    // Caller holds _gate.
    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    // Caller holds _gate.
    private void ThrowIfFenced(long? instanceId)
    {
        if (instanceId is { } id && _instances.TryGetValue(id, out var instance) && instance.ClaimedBy is { } claimer)
        {
            throw new InstanceFencedException(id, claimer);
        }
    }

    // Caller holds _gate.
    private int? FindCreation(string? creationId)
        => creationId is not null && _creations.TryGetValue(creationId, out var key) && FindBuild(key) is not null ? key.Number : null;

    // Caller holds _gate.
    private void RecordCreation(string? creationId, BuildKey key)
    {
        if (creationId is not null)
        {
            _creations[creationId] = key;
        }
    }
}
