namespace BuildStatus.Process;

/// <summary>A pending build request. Not persisted: requests live only while this host runs.</summary>
internal sealed class BuildRequest : IBuildRequest
{
    private readonly Builder _builder;

    // Guards _cancelled and _build.
    private readonly Lock _sync = new();
    private bool _cancelled;
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

    internal void MarkStarted(IBuildStatus build)
    {
        lock (_sync)
        {
            if (_cancelled)
            {
                throw new InvalidOperationException($"Build request {Id} of builder '{_builder.Name}' was cancelled.");
            }

            _build = build;
        }
    }
}
