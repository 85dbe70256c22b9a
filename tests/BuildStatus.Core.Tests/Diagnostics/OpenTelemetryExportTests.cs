using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace BuildStatus.Core.Tests.Diagnostics;

/// <summary>The README's OpenTelemetry registration, as a host writes it, exporting to memory.</summary>
[TestFixture]
public sealed class OpenTelemetryExportTests
{
    [Test]
    public async Task AddOpenTelemetry_WithTheReadmeSourceAndMeter_ExportsBuildAndStepSpansAndCicdMetrics()
    {
        var spans = new List<Activity>();
        var metrics = new List<MetricSnapshot>(); // copies: the SDK reuses its Metric objects
        var name = ActivityCollector.NewBuilderName();
        var hostName = "otel-" + Guid.NewGuid().ToString("N")[..8];

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddBuildStatus(b => b.UseInMemoryStorage().Configure(o => o.HostName = hostName));
        builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddSource("BuildStatus").AddInMemoryExporter(spans))
            .WithMetrics(m => m.AddMeter("BuildStatus").AddInMemoryExporter(metrics));
        var app = builder.Build();
        await app.StartAsync();

        var host = app.Services.GetRequiredService<IBuildStatusHost>();
        var build = await host.AddBuilder(name).StartBuildAsync(new BuildStartInfo
        {
            SourceStamps = [new SourceStamp("https://example.org/app.git", "main", "4f2c1e9")],
        });
        var step = build.AddStep("compile");
        step.Start();
        step.Finish(BuildResult.Failure);
        await build.FinishAsync();

        Assert.That(app.Services.GetRequiredService<TracerProvider>().ForceFlush(30_000), Is.True);
        Assert.That(app.Services.GetRequiredService<MeterProvider>().ForceFlush(30_000), Is.True);

        // Disposing the providers stops their exports (other fixtures' builds are traced too while they listen), so
        // the lists are read when nothing adds to them any more.
        await app.StopAsync();
        app.Dispose();

        var exported = spans.Where(s => (string?)s.GetTagItem("cicd.pipeline.name") == name || s.DisplayName == "compile").ToArray();

        var buildSpan = exported.Single(s => s.Kind == ActivityKind.Server);
        var stepSpan = exported.Single(s => s.ParentSpanId == buildSpan.SpanId);
        Assert.Multiple(() =>
        {
            Assert.That(buildSpan.DisplayName, Is.EqualTo(name));
            Assert.That(buildSpan.GetTagItem("cicd.pipeline.result"), Is.EqualTo("failure"));
            Assert.That(buildSpan.GetTagItem("vcs.ref.head.revision"), Is.EqualTo("4f2c1e9"));
            Assert.That(stepSpan.DisplayName, Is.EqualTo("compile"));
            Assert.That(stepSpan.GetTagItem("cicd.pipeline.task.run.result"), Is.EqualTo("failure"));
        });

        var exportedMetrics = metrics.ToArray();

        var duration = exportedMetrics.Where(m => m.Name == "cicd.pipeline.run.duration").ToArray();
        Assert.That(duration, Is.Not.Empty);

        // Each export (the flush, then the last one at dispose) holds the cumulative point: read the last.
        var ours = PointsOf(duration).Where(p => Tag(p, "cicd.pipeline.name") == name).ToArray();
        Assert.That(ours, Is.Not.Empty);
        var point = ours[^1];
        Assert.Multiple(() =>
        {
            Assert.That(point.GetHistogramCount(), Is.EqualTo(1));
            Assert.That(Tag(point, "cicd.pipeline.result"), Is.EqualTo("failure"));
            Assert.That(Tag(point, "error.type"), Is.EqualTo("failure"));
            Assert.That(Tag(point, "buildstatus.host.name"), Is.EqualTo(hostName));
        });
        var names = exportedMetrics.Select(m => m.Name).ToHashSet();
        Assert.That(names, Is.SupersetOf(new[] { "cicd.pipeline.run.errors", "cicd.pipeline.run.active", "cicd.worker.count", "buildstatus.builds.finished" }));
    }

    private static IEnumerable<MetricPoint> PointsOf(IEnumerable<MetricSnapshot> metrics)
        => metrics.SelectMany(m => m.MetricPoints);

    private static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}
