using Microsoft.Extensions.Logging;

namespace BuildStatus.Events;

/// <summary>A callback subscription: a pump delivers the buffered events to an <see cref="IStatusReceiver"/>, one at a time.</summary>
/// <remarks>
/// <para>
/// The pump runs on a dedicated thread (a <see cref="TaskCreationOptions.LongRunning"/> task), not on the thread
/// pool. <see cref="IStatusReceiver"/> allows receivers to block, and some will block synchronously (a blocking
/// SMTP client, <c>.Result</c> on a task, a lock): on the pool, each such receiver would hold a pool thread and a
/// few would starve the pool, and with it the host's storage writer and every other subscriber, while the pool
/// injects threads only slowly. A thread of its own confines a blocking receiver to itself. The thread waits for
/// an incomplete <see cref="ValueTask"/> from the receiver synchronously, which is fine on a thread nobody else
/// needs, and gives up that wait when the subscription is disposed. Streams (<see cref="StreamSubscription"/>)
/// need no thread: their consumer drives them.
/// </para>
/// <para>
/// Disposal does not wait for a call to the receiver that is under way: a receiver that ignores its token and
/// blocks forever would otherwise hang the host's shutdown. That call (at most one) may finish later; no call
/// starts after the pump sees the subscription closed. A receiver that blocks its thread forever keeps that one
/// thread, and nothing else.
/// </para>
/// <para>
/// Threading: <c>_delivered</c> and <c>_faults</c> are written by the pump thread only and read from any thread;
/// <c>_cancellation</c> is cancelled once by the first <see cref="Subscriber.Dispose"/>.
/// </para>
/// </remarks>
internal sealed class ReceiverSubscription : Subscriber, IStatusSubscription
{
    private readonly IStatusReceiver _receiver;
    private readonly ILogger _logger;

    // Not disposed: it has no timer, so it holds nothing unmanaged, and a receiver still running may use its
    // token after disposal (registering on it, reading IsCancellationRequested).
    private readonly CancellationTokenSource _cancellation = new();

    // Released once per wait (see Subscriber.Wake). Not disposed for the same reason as above: it allocates no
    // wait handle unless asked for one, and a publisher may be releasing it while the pump exits.
    private readonly SemaphoreSlim _signal = new(0);

    private long _delivered;
    private long _faults;
    private Task _completion = Task.CompletedTask;

    /// <summary>Initializes a new instance of the <see cref="ReceiverSubscription"/> class.</summary>
    /// <param name="hub">The hub.</param>
    /// <param name="receiver">The receiver.</param>
    /// <param name="filter">The filter, or <see langword="null"/>.</param>
    /// <param name="capacity">The buffer capacity.</param>
    /// <param name="maxBytes">The buffer's bound in bytes of log text.</param>
    /// <param name="logger">Where receiver faults are logged.</param>
    public ReceiverSubscription(EventHub hub, IStatusReceiver receiver, StatusEventFilter? filter, int capacity, long maxBytes, ILogger logger)
        : base(hub, filter, capacity, maxBytes)
    {
        _receiver = receiver;
        _logger = logger;
    }

    /// <inheritdoc/>
    /// <remarks>Counts status events handed to the receiver, whether or not it threw; <see cref="EventsMissed"/> notices are not counted.</remarks>
    public long Delivered => Volatile.Read(ref _delivered);

    /// <inheritdoc/>
    public long Faults => Volatile.Read(ref _faults);

    /// <summary>Gets a task that completes when the pump thread has exited.</summary>
    internal Task Completion => _completion;

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Starts the pump. Called once, by the hub, after registering the subscription.</summary>
    internal void Start()
    {
        // The pump outlives the Subscribe call: do not let it carry the subscriber's ExecutionContext
        // (Activity.Current, logging scopes, other AsyncLocals) into every later delivery.
        AsyncFlowControl? noFlow = ExecutionContext.IsFlowSuppressed() ? null : ExecutionContext.SuppressFlow();
        try
        {
            _completion = Task.Factory.StartNew(
                static state => ((ReceiverSubscription)state!).Pump(),
                this,
                CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default);
        }
        finally
        {
            noFlow?.Undo();
        }
    }

    /// <inheritdoc/>
    protected override void Wake() => _signal.Release();

    /// <inheritdoc/>
    protected override void OnDisposing()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (AggregateException ex)
        {
            // Callbacks the receiver registered on its token threw; that must not make Dispose throw.
            EventHubLog.CancellationCallbackFailed(_logger, ex, _receiver.GetType().FullName);
        }
    }

    // Runs on the pump's own thread until the subscription closes.
    private void Pump()
    {
        var batch = new StatusEvent?[BatchArrayLength];
        while (true)
        {
            int count = TakeBatch(batch);
            if (count < 0)
            {
                return;
            }

            if (count == 0)
            {
                _signal.Wait();
                continue;
            }

            for (int i = 0; i < count; i++)
            {
                var statusEvent = batch[i]!;
                batch[i] = null;
                if (IsClosed)
                {
                    Array.Clear(batch);
                    return;
                }

                Deliver(statusEvent);
            }
        }
    }

    private void Deliver(StatusEvent statusEvent)
    {
        var token = _cancellation.Token;
        try
        {
            var pending = _receiver.OnEventAsync(statusEvent, token);
            if (pending.IsCompleted)
            {
                pending.GetAwaiter().GetResult();
            }
            else
            {
                var task = pending.AsTask();
                try
                {
                    // Gives up (OperationCanceledException) when the subscription is disposed, even if the
                    // receiver never completes.
                    task.Wait(token);
                }
                catch (AggregateException)
                {
                    // The receiver's task faulted or was cancelled; GetResult below rethrows its own exception.
                }

                task.GetAwaiter().GetResult();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed while the receiver was handling the event: not the receiver's fault.
        }
        catch (Exception ex)
        {
            var faults = _faults + 1;
            Volatile.Write(ref _faults, faults);

            // Log the first faults, then one in 1,000, so a receiver that throws on every event cannot flood the
            // log (the count is always in IStatusSubscription.Faults).
            if (faults <= 10 || faults % 1000 == 0)
            {
                EventHubLog.ReceiverFailed(_logger, ex, _receiver.GetType().FullName, statusEvent.GetType().Name, faults);
            }
        }

        if (statusEvent is not EventsMissed)
        {
            Volatile.Write(ref _delivered, _delivered + 1);
        }
    }
}
