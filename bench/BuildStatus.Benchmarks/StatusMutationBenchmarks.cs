using BenchmarkDotNet.Attributes;

namespace BuildStatus.Benchmarks;

/// <summary>
/// Status mutations on the host's thread, with the store answering at once or stalled (its ApplyAsync waits;
/// MaxQueueBytes is huge so an append never waits for space): one-line append, and step start + finish.
/// </summary>
/// <remarks>
/// Each iteration gets fresh builds, a fresh log and fresh steps in <c>IterationSetup</c>, so that a stalled store's
/// backlog does not grow across iterations and every step can start once; hence the fixed invocation count.
/// The baseline is the append of one line; the step benchmark does two mutations per operation.
/// </remarks>
[InvocationCount(Invocations)]
public class StatusMutationBenchmarks
{
    private const int Invocations = 1 << 16;
    private const int StepsPerBuild = 1024; // Build.AddStep copies its step list, so keep each build's list short.

    private static readonly string Line = new string('x', 72) + " 1234567";

    private BenchHost _host = null!;
    private readonly List<IBuild> _builds = [];
    private ILog _log = null!;
    private IStep[] _steps = [];
    private int _next;

    [Params(false, true)]
    public bool Stalled { get; set; }

    [GlobalSetup]
    public void GlobalSetup()
    {
        _host = BenchHost.Start();
        _host.Host.AddBuilder("b");
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _host.Store.Release();
        _host.Host.FlushAsync().GetAwaiter().GetResult();
        if (Stalled)
        {
            _host.Store.Stall();
        }

        _steps = new IStep[Invocations];
        for (var i = 0; i < _steps.Length; i++)
        {
            if (i % StepsPerBuild == 0)
            {
                _builds.Add(_host.Host.StartBuildAsync("b").GetAwaiter().GetResult());
            }

            _steps[i] = _builds[^1].AddStep("s");
        }

        var step = _builds[0].AddStep("compile");
        step.Start();
        _log = step.AddLog("stdio");
        _next = 0;

        // Let the writer take the setup's rows now (it gathers changes for GroupCommitDelay before it does), so their
        // snapshots and commits are not counted in the measured iteration.
        if (Stalled)
        {
            Thread.Sleep(50);
        }
        else
        {
            _host.Host.FlushAsync().GetAwaiter().GetResult();
        }
    }

    [IterationCleanup]
    public void IterationCleanup()
    {
        foreach (var build in _builds)
        {
            _ = build.FinishAsync();
        }

        _builds.Clear();
        _host.Store.Release();
    }

    [GlobalCleanup]
    public void GlobalCleanup() => _host.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>One 80-character line; completes synchronously (the queue has room).</summary>
    [Benchmark(Baseline = true)]
    public ValueTask AppendLine() => _log.AppendLineAsync(LogChannel.Stdout, Line);

    /// <summary>Two mutations: a step starts, then finishes.</summary>
    [Benchmark]
    public void StepStartFinish()
    {
        var step = _steps[_next++];
        step.Start();
        step.Finish(BuildResult.Success);
    }
}
