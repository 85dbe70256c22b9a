namespace BuildStatus.Storage;

/// <summary>
/// The writing instance was claimed for recovery by another (its lease expired, for example while its process was
/// paused), so its writes are refused: the other instance has finished its builds. Core then stops writing as that
/// instance, reports its live builds as lost and registers a new instance.
/// </summary>
public class InstanceFencedException : BuildStoreException
{
    /// <summary>Initializes a new instance of the <see cref="InstanceFencedException"/> class.</summary>
    public InstanceFencedException()
        : this("The instance was fenced: another instance claimed it for recovery.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InstanceFencedException"/> class.</summary>
    /// <param name="message">What was refused.</param>
    public InstanceFencedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InstanceFencedException"/> class.</summary>
    /// <param name="message">What was refused.</param>
    /// <param name="innerException">The cause, if any.</param>
    public InstanceFencedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InstanceFencedException"/> class.</summary>
    /// <param name="instanceId">The fenced instance.</param>
    /// <param name="claimedBy">The instance that claimed it.</param>
    public InstanceFencedException(long instanceId, long claimedBy)
        : base(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Instance {instanceId} was fenced: instance {claimedBy} claimed it for recovery after its lease expired, so its writes are refused."))
    {
        InstanceId = instanceId;
        ClaimedBy = claimedBy;
    }

    /// <summary>Gets the fenced instance, when known.</summary>
    public long? InstanceId { get; }

    /// <summary>Gets the instance that claimed it, when known.</summary>
    public long? ClaimedBy { get; }
}
