using System.Globalization;
using BuildStatus;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.CrashWorker;

/// <summary>
/// <c>--hold</c>: a host with a short lease that starts one build and then obeys commands on standard input, so tests
/// can pause (SIGSTOP), kill or resume it around that build. Prints READY, then <c>BUILD n</c>, then one line per
/// command: <c>finish</c> → FINISHED or FINISH-FAILED, <c>start</c> → STARTED n, <c>instance</c> → INSTANCE id,
/// <c>exit</c> → stops and exits.
/// </summary>
internal static class HoldMode
{
    public static async Task<int> RunAsync(string db, string hostName, TimeSpan lease, TimeSpan heartbeat)
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b
            .UseSqlite(o => o.ConnectionString = $"Data Source={db}")
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

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
