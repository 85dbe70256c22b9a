using BuildStatus;

namespace BuildStatusSample;

/// <summary>Runs the sample's pipelines over and over, each builder on its own, until the application stops.</summary>
internal sealed class ContinuousBuilds(IBuildStatusHost host, TimeProvider time, ILogger<ContinuousBuilds> logger) : BackgroundService
{
    /// <summary>The pause between two builds of one builder.</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(3);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var worker = host.FindWorker(WebSample.WorkerName)!;
        worker.Connect(Environment.MachineName, new Dictionary<string, string>
        {
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["cores"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var runner = new BuildRunner(worker, time);
        try
        {
            await Task.WhenAll(Pipelines.All.Select(p => RunForeverAsync(runner, host.FindBuilder(p.Name)!, p, stoppingToken)));
        }
        finally
        {
            worker.Disconnect();
        }
    }

    private async Task RunForeverAsync(BuildRunner runner, IBuilder builder, Pipeline pipeline, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await runner.RunBuildsAsync(builder, pipeline, 1, stoppingToken);
                await Task.Delay(Pause, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Ctrl+C: the running build was recorded as cancelled.
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "A build of {Builder} failed to run; trying again.", builder.Name);
                await Task.Delay(Pause, time, CancellationToken.None);
            }
        }
    }
}
