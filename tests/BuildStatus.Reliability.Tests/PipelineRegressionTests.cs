using BuildStatus.Storage.Testing;
using BuildStatus.Reliability.Tests.Support;
using BuildStatus.Storage;

namespace BuildStatus.Reliability.Tests;

/// <summary>Regression tests for pipeline defects found by the reliability suite.</summary>
[TestFixture]
public sealed class PipelineRegressionTests
{
    private const int Lines = 3000;

    /// <summary>
    /// Defect: the writer took an entity's snapshot, the entity changed and was queued again while the writer was
    /// still filling the same batch, and the writer took it a second time: the batch listed one log (or step, or
    /// build) twice, which the WriteBatch contract forbids. SQLite and the in-memory store reject such a batch with
    /// ArgumentException, the writer retried it forever and every durability task failed (found by the crash
    /// harness: the worker's FinishAsync faulted with "Log ... appears twice in the batch").
    /// </summary>
    /// <remarks>The race needs a change to land while the writer fills a batch, so the scenario runs several rounds;
    /// before the fix about one round in three hit it.</remarks>
    [Test]
    [CancelAfter(120_000)]
    public async Task ConcurrentAppendsWhileWriterFillsBatch_EveryBatchListsEachKeyOnce(CancellationToken cancellationToken)
    {
        for (var round = 0; round < 8; round++)
        {
            await RunRoundAsync(cancellationToken);
        }
    }

    private static async Task RunRoundAsync(CancellationToken cancellationToken)
    {
        UniqueKeyCheckingStore? checker = null;
        await using var host = await RelHost.StartAsync(() => checker = new UniqueKeyCheckingStore(new InMemoryBuildStore()), o => o.MaxWriteAttempts = 2);
        var padding = new string('x', 300);
        var builds = new List<IBuild>();
        var logs = new List<ILog>();
        for (var i = 0; i < 16; i++)
        {
            var build = await host.Host.AddBuilder("dup-" + i).StartBuildAsync();
            var step = build.AddStep("s");
            step.Start();
            builds.Add(build);
            logs.Add(step.AddLog("a"));
        }

        var appenders = logs.Select((log, i) => Task.Run(
            async () =>
            {
                for (var n = 0; n < Lines; n++)
                {
                    await log.AppendLineAsync(LogChannel.Stdout, $"{i}:{n} {padding}", cancellationToken);
                    if (n % 97 == 0)
                    {
                        builds[i].SetStateText("n=" + n);
                    }
                }
            },
            cancellationToken)).ToArray();
        await Task.WhenAll(appenders);
        foreach (var build in builds)
        {
            await build.FinishAsync(BuildResult.Success).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }

        Assert.That(checker!.Duplicates, Is.Empty, "batches with a key listed twice");
        foreach (var build in builds)
        {
            var stored = await host.Host.History.GetBuildAsync(build.Builder.Name, build.Number, cancellationToken);
            var step = (await stored!.GetStepsAsync(cancellationToken))[0];
            foreach (var log in await step.GetLogsAsync(cancellationToken))
            {
                Assert.That(log.LineCount, Is.EqualTo(Lines), $"{log.BuilderName} {log.Name}");
            }
        }
    }

    /// <summary>Records every batch that lists a key twice (and lets the inner store decide what to do with it).</summary>
    private sealed class UniqueKeyCheckingStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Duplicates { get; } = new();

        public override Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            Check(batch.Builds.Select(b => b.Key.ToString()), "build");
            Check(batch.Steps.Select(s => s.Key.ToString()), "step");
            Check(batch.Logs.Select(l => l.Key.ToString()), "log");
            Thread.SpinWait(20_000); // a commit that takes a moment, so appends pile up while the writer works
            return base.ApplyAsync(batch, cancellationToken);
        }

        private void Check(IEnumerable<string> keys, string what)
        {
            foreach (var group in keys.GroupBy(k => k).Where(g => g.Count() > 1))
            {
                Duplicates.Enqueue($"{what} {group.Key} x{group.Count()}");
            }
        }
    }
}
