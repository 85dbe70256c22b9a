using Microsoft.Extensions.Logging;

namespace BuildStatus.Events;

/// <summary>Log messages of the event hub and its subscriptions. Event ids 100-199 belong to events.</summary>
internal static partial class EventHubLog
{
    [LoggerMessage(100, LogLevel.Error, "Status receiver {Receiver} threw while handling {EventType} (fault {Faults}; after the 10th only every 1,000th is logged); delivery goes on with the next event.")]
    public static partial void ReceiverFailed(ILogger logger, Exception exception, string? receiver, string eventType, long faults);

    [LoggerMessage(101, LogLevel.Error, "Filtering {EventType} for a subscriber threw; the subscriber does not get that event.")]
    public static partial void FilterFailed(ILogger logger, Exception exception, string eventType);

    [LoggerMessage(102, LogLevel.Warning, "A callback registered by status receiver {Receiver} on its cancellation token threw when the subscription was disposed.")]
    public static partial void CancellationCallbackFailed(ILogger logger, Exception exception, string? receiver);
}
