using BuildStatus.Pipeline;
using BuildStatus.Storage;

namespace BuildStatus.Process;

/// <summary>
/// A build request: pending → starting (reserved by one StartBuildAsync; with instances, claimed in storage) → started,
/// or cancelled. With a store that has instances it is persisted like the other process objects (its row is written by
/// the pipeline), so it survives a crash and a restart.
/// </summary>
internal sealed class BuildRequest : PersistedEntity, IBuildRequest
{
    private readonly Builder _builder;
    private readonly bool _persisted;

    // Guards _cancelled, _starting, _build, _buildNumber and _claimedBy. A leaf lock apart from the pipeline's queue
    // lock (MarkDirty): taken after the builder's lock, never before it.
    private readonly Lock _sync = new();
    private bool _cancelled;
    private bool _starting;
    private IBuildStatus? _build;
    private int? _buildNumber;
    private long? _claimedBy;

    // The queue sequence of the last change (under _sync), and whether a row was ever committed (writer; read anywhere).
    private long _changedSeq;
    private volatile bool _stored;

    public BuildRequest(Builder builder, long id, string? reason, DateTimeOffset submittedAt, IReadOnlyList<SourceStamp> sourceStamps, IReadOnlyDictionary<string, PropertyValue> properties, int priority, bool persisted)
    {
        _builder = builder;
        Id = id;
        Reason = reason;
        SubmittedAt = submittedAt;
        SourceStamps = sourceStamps;
        Properties = properties;
        Priority = priority;
        _persisted = persisted;
    }

    /// <summary>Creates the live object of a request read from storage (pending, or claimed by a dead instance and released).</summary>
    public static BuildRequest FromStored(Builder builder, StoredBuildRequest row)
    {
        var request = new BuildRequest(builder, row.Id, row.Reason, row.SubmittedAt, row.SourceStamps, row.Properties, row.Priority, persisted: true);
        request._stored = true;
        return request;
    }

    internal override Lock SyncRoot => _sync;

    public IBuilderStatus Builder => _builder;

    public long Id { get; }

    public string? Reason { get; }

    public DateTimeOffset SubmittedAt { get; }

    public IReadOnlyList<SourceStamp> SourceStamps { get; }

    public IReadOnlyDictionary<string, PropertyValue> Properties { get; }

    public int Priority { get; }

    /// <summary>Gets whether a start holds the request.</summary>
    internal bool IsStarting
    {
        get
        {
            lock (_sync)
            {
                return _starting || _build is not null;
            }
        }
    }

    /// <summary>Gets whether a row of this request was committed (or it was read from storage).</summary>
    internal bool IsStored => _stored;

    public bool IsCancelled
    {
        get
        {
            lock (_sync)
            {
                return _cancelled;
            }
        }
    }

    public IBuildStatus? Build
    {
        get
        {
            lock (_sync)
            {
                return _build;
            }
        }
    }

    public int? BuildNumber
    {
        get
        {
            lock (_sync)
            {
                return _buildNumber;
            }
        }
    }

    /// <summary>Queues the request's first row. Called once, by the builder that created it.</summary>
    internal void Submit()
    {
        lock (_sync)
        {
            Changed();
        }
    }

    public void Cancel()
    {
        lock (_sync)
        {
            if (_build is not null)
            {
                throw new InvalidOperationException($"Cannot cancel build request {Id} of builder '{_builder.Name}': build {_build.Number} has started for it.");
            }

            if (_cancelled)
            {
                return;
            }

            _builder.Context.ThrowIfStopped(this);
            _cancelled = true;
            Changed();
            Publish(BuildRequestState.Cancelled);
        }

        _builder.CancelRequest(this);
    }

    /// <summary>Reserves the request for one start (pending → starting).</summary>
    /// <exception cref="InvalidOperationException">The request was cancelled, has started, or another start holds it.</exception>
    internal void Reserve()
    {
        lock (_sync)
        {
            if (_cancelled)
            {
                throw new InvalidOperationException($"Build request {Id} of builder '{_builder.Name}' was cancelled.");
            }

            if (_build is not null)
            {
                throw new InvalidOperationException($"Build request {Id} of builder '{_builder.Name}' already started build {_build.Number}.");
            }

            if (_starting)
            {
                throw new InvalidOperationException($"Build request {Id} of builder '{_builder.Name}' is already being started by another call.");
            }

            _starting = true;
        }
    }

    /// <summary>The sequence that covers the request's latest row; the claim in storage waits for it.</summary>
    internal long ChangedSequence
    {
        get
        {
            lock (_sync)
            {
                return _changedSeq;
            }
        }
    }

    /// <summary>Records that storage gave the claim to <paramref name="instanceId"/>.</summary>
    internal void MarkClaimed(long instanceId)
    {
        lock (_sync)
        {
            _claimedBy = instanceId;
            Publish(BuildRequestState.Claimed);
        }
    }

    /// <summary>Gives a reservation back (the start failed before a build existed): starting → pending.</summary>
    internal void Unreserve()
    {
        lock (_sync)
        {
            _starting = false;
            if (_claimedBy is not null)
            {
                _claimedBy = null;
                Changed();
                Publish(BuildRequestState.Pending);
            }
        }
    }

    /// <summary>Completes a reservation: starting → started, unless the request was cancelled meanwhile.</summary>
    /// <returns><see langword="false"/> when it was cancelled: the build lost the race.</returns>
    internal bool TryMarkStarted(IBuildStatus build)
    {
        lock (_sync)
        {
            _starting = false;
            if (_cancelled)
            {
                return false;
            }

            _build = build;
            _buildNumber = build.Number;
            Changed();
            Publish(BuildRequestState.Started);
            return true;
        }
    }

    // Caller holds _sync.
    private void Publish(BuildRequestState state)
        => _builder.Context.Publish((this, state), static (s, now) => new BuildRequestChanged(s.Item1, s.state) { Timestamp = now });

    // Caller holds _sync.
    private void Changed()
    {
        if (_persisted)
        {
            _changedSeq = _builder.Context.Pipeline.MarkDirty(this);
        }
    }

    internal override void AppendTo(EntitySnapshot snapshot)
    {
        var state = _cancelled ? BuildRequestState.Cancelled
            : _buildNumber is not null ? BuildRequestState.Started
            : _claimedBy is not null ? BuildRequestState.Claimed
            : BuildRequestState.Pending;
        snapshot.Row = new StoredBuildRequest(Id, _builder.Name, Reason, SourceStamps, Properties, Priority, SubmittedAt, state, _claimedBy, _buildNumber);
    }

    internal override void OnCommitted(EntitySnapshot snapshot) => _stored = true;

    public override string ToString() => $"build request {Id} of builder '{_builder.Name}'";
}
