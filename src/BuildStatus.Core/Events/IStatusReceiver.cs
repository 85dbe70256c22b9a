namespace BuildStatus;

/// <summary>
/// Receives status events through <see cref="IStatus.Subscribe"/>. Calls come one at a time, in order,
/// from a task owned by the subscription, never from the thread that changed the status.
/// </summary>
/// <remarks>
/// Implementers may block, be slow or throw: an exception is logged and delivery goes on with the next
/// event; a receiver that falls behind its buffer gets an <see cref="EventsMissed"/> notice.
/// </remarks>
public interface IStatusReceiver
{
    /// <summary>Handles one event.</summary>
    /// <param name="statusEvent">The event.</param>
    /// <param name="cancellationToken">Cancelled when the subscription is disposed.</param>
    /// <returns>A task that completes when the event is handled.</returns>
    ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken);
}
