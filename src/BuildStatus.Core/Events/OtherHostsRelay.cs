using BuildStatus.Adapters;
using BuildStatus.Process;
using BuildStatus.Storage;
using Microsoft.Extensions.Logging;

namespace BuildStatus.Events;

/// <summary>
/// Reads other hosts' events from the store's outbox (<see cref="IBuildEventFeed"/>) and publishes them to the
/// subscribers that asked for them (<see cref="StatusEventFilter.IncludeOtherHosts"/>), each with read-only views of its
/// build loaded from storage. Reads events only while such a subscriber exists (otherwise it keeps its position at the
/// newest sequence, one small read per poll interval); resumes from the last sequence it delivered
/// after any failure (no gap while the outbox keeps the events; <see cref="EventsMissed"/> when retention removed some).
/// </summary>
/// <remarks>
/// Threading: all mutable state (<c>_last</c>, <c>_failures</c>) is owned by the one relay task started by
/// <see cref="StartAsync"/>; <see cref="StopAsync"/> cancels it and waits for it.
/// </remarks>
internal sealed partial class OtherHostsRelay : IAsyncDisposable
{
    /// <summary>The most events read per round.</summary>
    internal const int PageSize = 256;

    private readonly IBuildEventFeed _feed;
    private readonly HostContext _ctx;
    private readonly StatusAdapter _adapter;
    private readonly Func<long> _ownInstance;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _task;

    // Owned by the relay task: the last sequence delivered (or skipped), -1 before the first read.
    private long _last = -1;
    private int _failures;

    public OtherHostsRelay(IBuildEventFeed feed, HostContext ctx, StatusAdapter adapter, Func<long> ownInstance)
    {
        _feed = feed;
        _ctx = ctx;
        _adapter = adapter;
        _ownInstance = ownInstance;
        _logger = ctx.Logger;
    }

    /// <summary>Gets the last sequence delivered or skipped (-1 before the first read); for tests.</summary>
    internal long LastSequence => Volatile.Read(ref _last);

    /// <summary>Takes the newest sequence as the starting point, then starts the relay task.</summary>
    /// <exception cref="BuildStoreException">The store could not be read.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _last, await _feed.GetLastEventSequenceAsync(cancellationToken).ConfigureAwait(false));
        _task = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
    }

    public async Task StopAsync()
    {
        if (_task is null)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken token)
    {
        var poll = _ctx.Options.OtherHostsPollInterval;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (_last < 0)
                {
                    Volatile.Write(ref _last, await _feed.GetLastEventSequenceAsync(token).ConfigureAwait(false));
                }

                if (!_ctx.Hub.AnyIncludesOtherHosts)
                {
                    // Nobody listens: keep the position near the newest event (one small read per poll interval), so
                    // a subscriber gets every event committed after it subscribed, and at most a poll interval's worth
                    // from before.
                    try
                    {
                        await _ctx.Hub.WaitForOtherHostSubscriberAsync(token).WaitAsync(poll, _ctx.Time, token).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        Volatile.Write(ref _last, await _feed.GetLastEventSequenceAsync(token).ConfigureAwait(false));
                        continue;
                    }

                    if (!_ctx.Hub.AnyIncludesOtherHosts)
                    {
                        // Woken without a subscriber (the hub is closing): do not spin.
                        await Task.Delay(poll, _ctx.Time, token).ConfigureAwait(false);
                    }

                    continue;
                }

                var page = await _feed.ReadEventsAsync(_last, PageSize, token).ConfigureAwait(false);
                if (page.PrunedThrough > _last)
                {
                    // Retention removed events this host had not read: say so, at most how many.
                    _ctx.Hub.Publish(new EventsMissed(page.PrunedThrough - _last) { Timestamp = _ctx.Now, HostName = string.Empty });
                    Log.Missed(_logger, page.PrunedThrough - _last);
                    Volatile.Write(ref _last, page.PrunedThrough);
                }

                if (page.Events.Count > 0)
                {
                    await PublishAsync(page.Events, token).ConfigureAwait(false);
                    Volatile.Write(ref _last, page.Events[^1].Sequence);
                }

                if (_failures > 0)
                {
                    Log.Resumed(_logger, _failures);
                    _failures = 0;
                }

                if (page.Events.Count < PageSize)
                {
                    await _feed.WaitForEventsAsync(_last, poll, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Storage unreachable, say: this host keeps running; the relay retries from the last sequence delivered.
                _failures++;
                if (_failures == 1 || _failures % 20 == 0)
                {
                    Log.ReadFailed(_logger, ex, _failures);
                }

                var delay = TimeSpan.FromMilliseconds(Math.Min(poll.TotalMilliseconds * Math.Pow(2, Math.Min(_failures - 1, 6)), 30_000) * (0.5 + (_ctx.Options.Randomizer() / 2)));
                await Task.Delay(delay, _ctx.Time, token).ConfigureAwait(false);
            }
        }
    }

    private async Task PublishAsync(IReadOnlyList<StoredEvent> events, CancellationToken token)
    {
        var own = _ownInstance();
        var wanted = _ctx.Hub.OtherHostKinds;
        Dictionary<BuildKey, StoredBuildStatus?>? views = null;
        foreach (var stored in events)
        {
            if (stored.InstanceId == own || (wanted & stored.Kind) == 0)
            {
                continue;
            }

            var key = new BuildKey(stored.BuilderName, stored.BuildNumber);
            views ??= [];
            if (!views.TryGetValue(key, out var build))
            {
                // One read of the build per round, however many of its events the round holds; no log tails.
                build = await _adapter.LoadStoredBuildStatusAsync(key.BuilderName, key.Number, 0, token).ConfigureAwait(false);
                views[key] = build;
            }

            if (build is null)
            {
                // Pruned since: nothing to show.
                continue;
            }

            var statusEvent = await ToStatusEventAsync(stored, build, token).ConfigureAwait(false);
            if (statusEvent is not null)
            {
                _ctx.Hub.Publish(statusEvent with { Timestamp = stored.Timestamp, HostName = stored.HostName, InstanceId = stored.InstanceId });
            }
        }
    }

    private async Task<StatusEvent?> ToStatusEventAsync(StoredEvent stored, StoredBuildStatus build, CancellationToken token)
    {
        var at = stored.Timestamp;
        var step = stored.StepNumber is { } stepNumber ? FindStep(build, stepNumber) : null;
        var log = step is not null && stored.LogNumber is { } logNumber ? FindLog(step, logNumber) : null;
        switch (stored.Kind)
        {
            case StatusEventKinds.BuildStarted:
                return new BuildStarted(build) { Timestamp = at };
            case StatusEventKinds.BuildChanged:
                return new BuildChanged(build, stored.Text ?? build.StateText) { Timestamp = at };
            case StatusEventKinds.BuildFinished:
                return new BuildFinished(build, stored.Result ?? build.Result ?? BuildResult.Retry) { Timestamp = at };
            case StatusEventKinds.StepStarted when step is not null:
                return new StepStarted(step) { Timestamp = at };
            case StatusEventKinds.StepTextChanged when step is not null:
                return new StepTextChanged(step, stored.Text ?? step.StateText) { Timestamp = at };
            case StatusEventKinds.StepFinished when step is not null:
                return new StepFinished(step, stored.Result ?? step.Result ?? BuildResult.Retry) { Timestamp = at };
            case StatusEventKinds.LogStarted when log is not null:
                return new LogStarted(log) { Timestamp = at };
            case StatusEventKinds.LogFinished when log is not null:
                return new LogFinished(log) { Timestamp = at };
            case StatusEventKinds.LogChunk when log is not null && stored.LineCount > 0:
                var key = new LogKey(stored.BuilderName, stored.BuildNumber, step!.Number, log.Number);
                var lines = await _ctx.Store.ReadLogLinesAsync(key, stored.FirstLine, stored.LineCount, token).ConfigureAwait(false);
                return lines.Count == 0 ? null : new LogChunk(log, lines) { Timestamp = at };
            default:
                return null;
        }
    }

    private static IStepStatus? FindStep(StoredBuildStatus build, int number)
    {
        foreach (var step in build.Steps)
        {
            if (step.Number == number)
            {
                return step;
            }
        }

        return null;
    }

    private static ILogStatus? FindLog(IStepStatus step, int number)
    {
        foreach (var log in step.Logs)
        {
            if (log.Number == number)
            {
                return log;
            }
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Reading other hosts' events failed ({Failures} in a row); retrying from the last event delivered.")]
        public static partial void ReadFailed(ILogger logger, Exception exception, int failures);

        [LoggerMessage(Level = LogLevel.Information, Message = "Reading other hosts' events works again after {Failures} failures; no event was skipped.")]
        public static partial void Resumed(ILogger logger, int failures);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Up to {Count} events of other hosts were removed by the outbox's retention before this host read them; subscribers are told (EventsMissed).")]
        public static partial void Missed(ILogger logger, long count);
    }
}
