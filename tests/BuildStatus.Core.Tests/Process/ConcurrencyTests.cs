using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Process;

[TestFixture]
public sealed class ConcurrencyTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task SixtyFourBuilds_FromManyThreads_EndInAConsistentState(CancellationToken cancellationToken)
    {
        await using var t = await TestHost.StartAsync(o => o.RecentBuildsPerBuilder = 100);
        var builders = Enumerable.Range(0, 8).Select(i => t.Host.AddBuilder($"builder-{i}")).ToArray();
        const int Builds = 64;
        const int Steps = 4;
        const int Lines = 200;

        var readers = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            // Readers run against writers the whole time: no exception, no torn lists.
            while (!readers.IsCancellationRequested)
            {
                foreach (var build in t.Host.CurrentBuilds)
                {
                    _ = build.Steps.Count;
                    _ = build.CurrentStep?.Name;
                    foreach (var step in build.Steps)
                    {
                        foreach (var log in step.Logs)
                        {
                            _ = log.Tail.Count;
                        }
                    }
                }
            }
        });

        var tasks = Enumerable.Range(0, Builds).Select(i => Task.Run(async () =>
        {
            var build = await builders[i % builders.Length].StartBuildAsync(cancellationToken: cancellationToken);
            var parallelSteps = Enumerable.Range(0, Steps).Select(s => Task.Run(async () =>
            {
                var step = build.AddStep($"step-{s}");
                step.Start();
                var log = step.AddLog("stdio");
                for (var l = 0; l < Lines; l++)
                {
                    await log.AppendLineAsync(LogChannel.Stdout, $"{build.Number}/{s}/{l}", cancellationToken);
                }

                step.Finish(s == 0 && i % 5 == 0 ? BuildResult.Failure : BuildResult.Success);
            }));
            await Task.WhenAll(parallelSteps);
            await build.FinishAsync(cancellationToken: cancellationToken);
            return build;
        }, cancellationToken)).ToArray();

        var builds = await Task.WhenAll(tasks);
        await readers.CancelAsync();
        await reader;

        Assert.That(t.Host.CurrentBuilds, Is.Empty);
        foreach (var group in builds.GroupBy(b => b.Builder.Name))
        {
            Assert.That(group.Select(b => b.Number).Order(), Is.EqualTo(Enumerable.Range(1, group.Count())), "numbers are unique and contiguous per builder");
        }

        foreach (var build in builds)
        {
            var stored = await t.Store.GetBuildAsync(new BuildKey(build.Builder.Name, build.Number));
            Assert.That(stored!.Result, Is.EqualTo(build.Result));
            var steps = await t.Store.GetStepsAsync(stored.Key);
            Assert.That(steps, Has.Count.EqualTo(Steps));
            foreach (var step in steps)
            {
                var lines = await t.Store.ReadLogLinesAsync(new LogKey(build.Builder.Name, build.Number, step.Key.StepNumber, 0), 0, int.MaxValue);
                var s = step.Name["step-".Length..];
                Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, Lines).Select(l => $"{build.Number}/{s}/{l}")));
            }
        }
    }
}
