using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace BuildStatus.Bench;

/// <summary>
/// With <c>BUILDSTATUS_BENCH_GC_EVENTS=1</c> in the environment: counts why the runtime started each GC and which
/// types the large object heap allocations were (the runtime's allocation-tick samples, about one per 100 KB), and
/// prints both at exit. A diagnostic for memory comparisons; it costs a little throughput.
/// </summary>
internal sealed class GcEventProbe : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, int> _reasons = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _largeTypes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _smallTypes = new(StringComparer.Ordinal);

    public static GcEventProbe? StartIfRequested() =>
        Environment.GetEnvironmentVariable("BUILDSTATUS_BENCH_GC_EVENTS") == "1" ? new GcEventProbe() : null;

    public void Print(TextWriter output)
    {
        output.WriteLine("GC start reasons: " + string.Join(", ", _reasons.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        output.WriteLine("LOH allocation samples by type: " + string.Join(", ", _largeTypes.OrderByDescending(p => p.Value).Take(12).Select(p => $"{p.Key} {p.Value}")));
        output.WriteLine("SOH allocation samples by type: " + string.Join(", ", _smallTypes.OrderByDescending(p => p.Value).Take(12).Select(p => $"{p.Key} {p.Value}")));
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.PayloadNames is null || e.Payload is null)
        {
            return;
        }

        if (e.EventName?.StartsWith("GCStart", StringComparison.Ordinal) == true)
        {
            var reason = Convert.ToInt32(e.Payload[e.PayloadNames.IndexOf("Reason")], CultureInfo.InvariantCulture);
            var depth = Convert.ToInt32(e.Payload[e.PayloadNames.IndexOf("Depth")], CultureInfo.InvariantCulture);
            _reasons.AddOrUpdate($"gen{depth}/{ReasonName(reason)}", 1, (_, n) => n + 1);
        }
        else if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true)
        {
            var kind = Convert.ToInt32(e.Payload[e.PayloadNames.IndexOf("AllocationKind")], CultureInfo.InvariantCulture);
            var type = e.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t]?.ToString() ?? "?" : "?";
            (kind == 1 ? _largeTypes : _smallTypes).AddOrUpdate(type, 1, (_, n) => n + 1);
        }
    }

    private static string ReasonName(int reason) => reason switch
    {
        0 => "AllocSmall",
        1 => "Induced",
        2 => "LowMemory",
        3 => "Empty",
        4 => "AllocLarge",
        5 => "OutOfSpaceSOH",
        6 => "OutOfSpaceLOH",
        7 => "InducedNotForced",
        8 => "Internal",
        9 => "InducedLowMemory",
        _ => reason.ToString(CultureInfo.InvariantCulture),
    };
}
