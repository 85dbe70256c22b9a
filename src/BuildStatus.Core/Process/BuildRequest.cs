namespace BuildStatus.Process;

/// <summary>A build request. Not persisted: requests live only while this host runs.</summary>
internal sealed class BuildRequest : IBuildRequest
{
    private readonly Builder _builder;

    // Guards _cancelled, _starting and _build: pending → starting (reserved by one StartBuildAsync) → started, or
    // cancelled (also while starting: that start then loses, and its build is finished as Cancelled in storage).
    // Taken after the builder's lock, never before it.
    private readonly Lock _sync = new();
    private bool _cancelled;
    private bool _starting;
    private IBuildStatus? _build;

    public BuildRequest(Builder builder, long id, string? reason, DateTimeOffset submittedAt, IReadOnlyList<SourceStamp> sourceStamps, IReadOnlyDictionary<string, PropertyValue> properties)
    {
        _builder = builder;
        Id = id;
        Reason = reason;
        SubmittedAt = submittedAt;
        SourceStamps = sourceStamps;
        Properties = properties;
    }

    public IBuilderStatus Builder => _builder;

    public long Id { get; }

    public string? Reason { get; }

    public DateTimeOffset SubmittedAt { get; }

    public IReadOnlyList<SourceStamp> SourceStamps { get; }

    public IReadOnlyDictionary<string, PropertyValue> Properties { get; }

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

            _cancelled = true;
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

    /// <summary>Gives a reservation back (the start failed before a build existed): starting → pending.</summary>
    internal void Unreserve()
    {
        lock (_sync)
        {
            _starting = false;
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
            return true;
        }
    }
}
