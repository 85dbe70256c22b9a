using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Events;

#pragma warning disable CA1822
// TEMPORARY minimal hub so the rest of Core compiles; replaced by the events branch.
internal sealed class EventHub : IAsyncDisposable
{
    public EventHub(int defaultBufferCapacity, ILogger logger)
    {
    }

    public bool HasSubscribers => false;

    public long TotalDropped => 0;

    public int SubscriberCount => 0;

    public void Publish(StatusEvent statusEvent)
    {
    }

    public IStatusSubscription Subscribe(IStatusReceiver receiver, StatusEventFilter? filter) => throw new NotSupportedException();

    public async IAsyncEnumerable<StatusEvent> WatchAsync(StatusEventFilter? filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        yield break;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
