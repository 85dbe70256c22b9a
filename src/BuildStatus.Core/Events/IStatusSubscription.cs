namespace BuildStatus;

/// <summary>A receiver's subscription. Dispose it to stop delivery; events still buffered are discarded.</summary>
public interface IStatusSubscription : IDisposable, IAsyncDisposable
{
    /// <summary>Gets the number of events delivered to the receiver so far.</summary>
    long Delivered { get; }

    /// <summary>Gets the number of events dropped because the buffer was full.</summary>
    long Missed { get; }

    /// <summary>Gets the number of times the receiver threw.</summary>
    long Faults { get; }
}
