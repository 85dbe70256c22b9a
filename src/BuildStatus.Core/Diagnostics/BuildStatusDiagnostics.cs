namespace BuildStatus;

/// <summary>The names under which BuildStatus reports traces and metrics, for an OpenTelemetry (or any) listener.</summary>
/// <example>
/// <code>
/// services.AddOpenTelemetry()
///     .WithTracing(t => t.AddSource(BuildStatusDiagnostics.ActivitySourceName))
///     .WithMetrics(m => m.AddMeter(BuildStatusDiagnostics.MeterName));
/// </code>
/// </example>
public static class BuildStatusDiagnostics
{
    /// <summary>
    /// The name of the <see cref="System.Diagnostics.ActivitySource"/> of build and step spans: <c>BuildStatus</c>.
    /// No span is created while nothing listens to it.
    /// </summary>
    public const string ActivitySourceName = Diagnostics.BuildStatusTelemetry.SourceName;

    /// <summary>
    /// The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of the writer, event and CI/CD metrics:
    /// <c>BuildStatus</c>.
    /// </summary>
    public const string MeterName = Hosting.BuildStatusMetrics.MeterName;
}
