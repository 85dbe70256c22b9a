using BuildStatus;
using Microsoft.Extensions.DependencyInjection;

var services = new ServiceCollection();
services.AddBuildStatus(b => b.UseInMemoryStorage()); // or b.UseSqlite("Data Source=builds.db")
await using var provider = services.BuildServiceProvider();

var host = provider.GetRequiredService<IBuildStatusHost>();
await host.StartAsync(); // under the Generic Host, the registered hosted service does this

var linux = host.AddBuilder("linux", "Linux x64", ["nightly"]);
using var subscription = host.Subscribe(new ConsoleReceiver(), StatusEventFilter.ForBuilder("linux"));

// Starting a build is the one status change that waits for storage: it allocates the number.
var build = await linux.StartBuildAsync(new BuildStartInfo
{
    Reason = "push",
    SourceStamps = [new SourceStamp("https://example.org/app.git", "main", "4f2c1e9")],
});
var compile = build.AddStep("compile");
compile.Start();
var log = compile.AddLog("stdio");
await log.AppendAsync(LogChannel.Header, "$ make\n");
await log.AppendAsync(LogChannel.Stdout, "compiling...\ndone\n");
compile.Finish(BuildResult.Success);

// Status is in RAM and answers at once...
Console.WriteLine($"{build.Builder.Name} #{build.Number}: {build.Steps.Count} step(s), {log.LineCount} log lines");

// ...and finishing returns when the build and everything in it is committed to storage.
await build.FinishAsync();

// History is read asynchronously from storage.
var page = await host.History.QueryBuildsAsync(new BuildQuery("linux") { Limit = 10 });
foreach (var stored in page.Builds)
{
    var steps = await stored.GetStepsAsync();
    Console.WriteLine($"stored: #{stored.Number} {stored.Result} ({steps.Count} step(s), host {stored.HostName})");
}

await host.StopAsync();

sealed class ConsoleReceiver : IStatusReceiver
{
    public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken)
    {
        Console.WriteLine($"event: {statusEvent.Kind} {statusEvent.BuilderName} #{statusEvent.BuildNumber}");
        return ValueTask.CompletedTask;
    }
}
