using System.Globalization;
using BuildStatus;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.CrashWorker;

/// <summary>
/// <c>--hold</c>: a host with a short lease that starts one build and then obeys commands on standard input, so tests
/// can pause (SIGSTOP), kill or resume it around that build. Prints READY, then <c>BUILD n</c>, then one line per
/// command: <c>finish</c> → FINISHED or FINISH-FAILED, <c>start</c> → STARTED n, <c>instance</c> → INSTANCE id,
/// <c>take ID</c> → TOOK n (it started the build of stored request ID once the request showed as pending here) or
/// TOOK-NONE (storage says another host took it first) or FINISH-FAILED, <c>exit</c> → stops and exits.
/// </summary>
internal static class HoldMode
{
    public static async Task<int> RunAsync(WorkerStore store, string hostName, TimeSpan lease, TimeSpan heartbeat)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => store.Use(b)
            .Configure(o =>
            {
                o.HostName = hostName;
                o.HeartbeatInterval = heartbeat;
                o.LeaseDuration = lease;
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
                o.RetryMaxDelay = TimeSpan.FromMilliseconds(100);
                o.MaxWriteAttempts = 4;
                o.StopTimeout = TimeSpan.FromSeconds(2);
            }));
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();
        await host.StartAsync();
        Say("READY");
        var builder = host.FindBuilder("held") ?? host.AddBuilder("held");
        var build = await builder.StartBuildAsync(new BuildStartInfo { Reason = "held" });
        var step = build.AddStep("held step");
        step.Start();
        await step.AddLog("stdio").AppendLineAsync(LogChannel.Stdout, "held build running");
        await host.FlushAsync();
        Say(string.Create(CultureInfo.InvariantCulture, $"BUILD {build.Number}"));

        while (Console.In.ReadLine() is { } command)
        {
            try
            {
                switch (command.Trim())
                {
                    case "finish":
                        step.Finish(BuildResult.Success);
                        await build.FinishAsync(BuildResult.Success, "finished by the held host");
                        Say("FINISHED");
                        break;
                    case "start":
                        var next = await builder.StartBuildAsync(new BuildStartInfo { Reason = "after" });
                        await next.FinishAsync(BuildResult.Success);
                        Say(string.Create(CultureInfo.InvariantCulture, $"STARTED {next.Number}"));
                        break;
                    case var take when take.StartsWith("take ", StringComparison.Ordinal):
                        Say(await TakeAsync(host, builder, long.Parse(take["take ".Length..], CultureInfo.InvariantCulture)));
                        break;
                    case "instance":
                        Say(string.Create(CultureInfo.InvariantCulture, $"INSTANCE {host.InstanceId}"));
                        break;
                    case "exit":
                        await host.StopAsync();
                        Say("EXITED");
                        return 0;
                }
            }
            catch (Exception ex)
            {
                Say("FINISH-FAILED " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" "));
            }
        }

        return 0;
    }

    // Waits until the stored request shows in this host's pending requests (a heartbeat syncs them), then starts and
    // finishes its build; gives up when storage says the request is no longer waiting (another host took it).
    private static async Task<string> TakeAsync(IBuildStatusHost host, IBuilder builder, long requestId)
    {
        while (true)
        {
            if (builder.PendingRequests.FirstOrDefault(r => r.Id == requestId) is { } pending)
            {
                var build = await builder.StartBuildAsync(new BuildStartInfo { Request = pending });
                await build.FinishAsync(BuildResult.Success, "started from the request");
                return string.Create(CultureInfo.InvariantCulture, $"TOOK {build.Number}");
            }

            var stored = (await host.History.GetRequestsAsync(builder.Name)).FirstOrDefault(r => r.Id == requestId);
            if (stored is not null && stored.State is not BuildStatus.Storage.BuildRequestState.Pending)
            {
                return "TOOK-NONE " + stored.State;
            }

            await Task.Delay(50);
        }
    }

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
