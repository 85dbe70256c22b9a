namespace BuildStatus.Hosting;

/// <summary>
/// The current instance id as a metric tag (boxed once per registration, so tagging allocates nothing), shared by every
/// tagged instrument of one host. Written by the instance lease when it registers; read by whoever measures.
/// </summary>
internal sealed class InstanceTag
{
    private volatile object? _value;

    /// <summary>Gets the boxed instance id, or <see langword="null"/> before registration or without instances.</summary>
    public object? Value => _value;

    public void Set(long instanceId) => _value = instanceId;
}
