using BuildStatus.Storage;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>The writer's part of the event outbox (schema version 7): events inserted in the batch's transaction, and retention by count.</summary>
internal sealed partial class BatchWriter
{
    // Created on first use, on the writer connection; owned (and disposed) like the other statements. The counter is
    // guarded by the store's writer lock, like the rest of the writer.
    private WriterStatement? _insertEvent;
    private WriterStatement? _raiseEventHorizon;
    private WriterStatement? _pruneEvents;
    private long _eventsSincePrune;

    /// <summary>Gets or sets how many events the outbox keeps (0: the store does not write events).</summary>
    public long MaxEvents { get; set; }

    // Inside a write transaction, after every row.
    private void InsertEvents(IReadOnlyList<StoredEvent> events, long? instanceId)
    {
        if (events.Count == 0 || MaxEvents == 0)
        {
            return;
        }

        _insertEvent ??= Create(
            """
            INSERT INTO events (instance_id, host_name, kind, at, builder_name, build_number, step_number, log_number, state_text, result, first_line, line_count)
            VALUES ($instance, $host, $kind, $at, $builder, $number, $step, $log, $text, $result, $first, $count)
            """,
            "$instance", "$host", "$kind", "$at", "$builder", "$number", "$step", "$log", "$text", "$result", "$first", "$count");
        foreach (var e in events)
        {
            Execute(
                _insertEvent,
                instanceId ?? e.InstanceId,
                e.HostName,
                (long)e.Kind,
                UnixTime.ToStored(e.Timestamp),
                e.BuilderName,
                (long)e.BuildNumber,
                e.StepNumber is { } step ? (long)step : null,
                e.LogNumber is { } log ? (long)log : null,
                e.Text,
                e.Result is { } result ? (long)result : null,
                e.FirstLine,
                (long)e.LineCount);
        }

        // Retention by count, checked every tenth of the bound: the outbox never holds much more than MaxEvents.
        _eventsSincePrune += events.Count;
        if (_eventsSincePrune >= Math.Max(1, MaxEvents / 10))
        {
            _eventsSincePrune = 0;
            _raiseEventHorizon ??= Create(
                "UPDATE event_horizon SET pruned_through = (SELECT max(seq) FROM events) - $keep WHERE (SELECT max(seq) FROM events) - $keep > pruned_through",
                "$keep");
            _pruneEvents ??= Create("DELETE FROM events WHERE seq <= (SELECT pruned_through FROM event_horizon)");
            Execute(_raiseEventHorizon, MaxEvents);
            Execute(_pruneEvents);
        }
    }
}
