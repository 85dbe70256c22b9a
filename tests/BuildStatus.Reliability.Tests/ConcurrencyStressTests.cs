using System.Collections.Concurrent;
using BuildStatus.Reliability.Tests.Support;

namespace BuildStatus.Reliability.Tests;

/// <summary>64 builds in flight from many threads, with reads, history queries, adapter calls and subscription churn.</summary>
[TestFixture]
public sealed class ConcurrencyStressTests
{
    private const int InFlight = 64;
    private const int Rounds = 2;
    private const int Builders = 8;
    private const int StepsPerBuild = 3;
    private const int LinesPerLog = 30;

    [Test]
    [CancelAfter(240_000)]
    public async Task SixtyFourBuildsInFlight_WithReadsQueriesAdapterAndSubscriptionChurn_FinalStateEqualsOperations(CancellationToken cancellationToken)
    {
        using var dir = new TempDir();
        var db = dir.File("stress.db");
        await using var host = await RelHost.SqliteAsync(db, o => o.RecentBuildsPerBuilder = 10);
        var h = host.Host;
        for (var b = 0; b < Builders; b++)
        {
            h.AddBuilder("stress-" + b);
        }

        var expected = new ConcurrentDictionary<(string Builder, int Number), (BuildResult Result, string[] Steps)>();
        var readOps = 0L;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(() => ReadLoopAsync(h, r, () => Interlocked.Increment(ref readOps), stop.Token), CancellationToken.None)).ToArray();

        for (var round = 0; round < Rounds; round++)
        {
            var started = 0;
            var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var runners = Enumerable.Range(0, InFlight).Select(i => Task.Run(
                async () =>
                {
                    var rng = new Random((round * 1000) + i);
                    var builder = h.FindBuilder("stress-" + (i % Builders))!;
                    var build = await builder.StartBuildAsync(cancellationToken: cancellationToken);
                    if (Interlocked.Increment(ref started) == InFlight)
                    {
                        allStarted.SetResult();
                    }

                    await allStarted.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken); // all 64 in flight before any proceeds
                    var names = new string[StepsPerBuild];
                    for (var s = 0; s < StepsPerBuild; s++)
                    {
                        names[s] = $"r{round}-b{i}-s{s}";
                        var step = build.AddStep(names[s]);
                        step.Start();
                        var log = step.AddLog("stdio");
                        for (var n = 0; n < LinesPerLog; n++)
                        {
                            await log.AppendLineAsync(LogChannel.Stdout, $"{names[s]} {n}", cancellationToken);
                            if (rng.Next(20) == 0)
                            {
                                await Task.Yield();
                            }
                        }

                        step.Finish(BuildResult.Success);
                    }

                    var result = (BuildResult)rng.Next(0, 3);
                    await build.FinishAsync(result, cancellationToken: cancellationToken).WaitAsync(TimeSpan.FromSeconds(120), cancellationToken);
                    Assert.That(expected.TryAdd((builder.Name, build.Number), (result, names)), Is.True, $"number {build.Number} of {builder.Name} given twice");
                },
                cancellationToken)).ToArray();
            await Task.WhenAll(runners).WaitAsync(TimeSpan.FromSeconds(180), cancellationToken);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        await h.FlushAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);

        // Status: nothing current, recent lists bounded; history: exactly the builds performed.
        Assert.That(h.CurrentBuilds, Is.Empty);
        Assert.That(expected, Has.Count.EqualTo(InFlight * Rounds));
        long lines = 0;
        for (var b = 0; b < Builders; b++)
        {
            var name = "stress-" + b;
            var mine = expected.Where(e => e.Key.Builder == name).ToList();
            Assert.That(h.FindBuilder(name)!.RecentBuilds, Has.Count.EqualTo(Math.Min(10, mine.Count)));
            var stored = new List<IPersistentBuild>();
            await foreach (var build in h.History.EnumerateBuildsAsync(new BuildQuery(name) { Limit = 7 }, cancellationToken))
            {
                stored.Add(build);
            }

            Assert.That(stored.Select(s => s.Number), Is.EqualTo(Enumerable.Range(1, mine.Count).Reverse()), $"{name}: numbers 1..n, newest first, each once");
            foreach (var build in stored)
            {
                var (result, steps) = expected[(name, build.Number)];
                Assert.That(build.Result, Is.EqualTo(result));
                var storedSteps = await build.GetStepsAsync(cancellationToken);
                Assert.That(storedSteps.Select(s => s.Name), Is.EqualTo(steps));
                foreach (var step in storedSteps)
                {
                    var log = (await step.GetLogsAsync(cancellationToken)).Single();
                    var read = await log.ReadLinesAsync(cancellationToken: cancellationToken);
                    Assert.That(read.Select(l => l.Text), Is.EqualTo(Enumerable.Range(0, LinesPerLog).Select(n => $"{step.Name} {n}")));
                    lines += read.Count;
                }
            }
        }

        Assert.That(Interlocked.Read(ref readOps), Is.GreaterThan(0));
        DbVerifier.AssertNumbersContiguous(db);
        TestContext.Out.WriteLine($"STRESS FIGURES: builds={expected.Count} (in flight at once={InFlight}) lines verified={lines} concurrent read/query/adapter/subscribe ops={Interlocked.Read(ref readOps)}");
    }

    private static async Task ReadLoopAsync(IBuildStatusHost h, int reader, Action op, CancellationToken token)
    {
        var rng = new Random(reader);
        try
        {
            while (!token.IsCancellationRequested)
            {
                var builder = h.FindBuilder("stress-" + rng.Next(Builders))!;
                switch (rng.Next(5))
                {
                    case 0:
                        foreach (var build in h.CurrentBuilds)
                        {
                            _ = build.Steps.Count + (build.CurrentStep?.Name.Length ?? 0) + build.StateText.Length;
                            foreach (var step in build.Steps)
                            {
                                foreach (var log in step.Logs)
                                {
                                    _ = log.Tail.Count + log.LineCount;
                                }
                            }
                        }

                        break;
                    case 1:
                        var page = await h.History.QueryBuildsAsync(new BuildQuery(builder.Name) { Limit = 5 }, token);
                        foreach (var stored in page.Builds)
                        {
                            _ = h.Adapter.ToStatus(stored);
                        }

                        break;
                    case 2:
                        foreach (var live in builder.CurrentBuilds.Concat(builder.RecentBuilds))
                        {
                            var persistent = h.Adapter.ToPersistent(live);
                            _ = h.Adapter.Adapt<IBuildStatus>(persistent);
                        }

                        break;
                    case 3:
                        var last = builder.LastFinishedBuild;
                        if (last is not null)
                        {
                            var loaded = await h.Adapter.LoadBuildStatusAsync(builder.Name, last.Number, token);
                            Assert.That(loaded?.Number, Is.EqualTo(last.Number).Or.Null);
                        }

                        break;
                    default:
                        var sub = h.Subscribe(new NullReceiver(), StatusEventFilter.ForBuilder(builder.Name));
                        await Task.Yield();
                        await sub.DisposeAsync();
                        break;
                }

                op();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private sealed class NullReceiver : IStatusReceiver
    {
        public ValueTask OnEventAsync(StatusEvent statusEvent, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
