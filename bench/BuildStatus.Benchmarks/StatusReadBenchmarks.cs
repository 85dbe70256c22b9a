using BenchmarkDotNet.Attributes;

namespace BuildStatus.Benchmarks;

/// <summary>Status reads: never wait for I/O. 10 builders with 2 running builds of 5 steps each.</summary>
public class StatusReadBenchmarks
{
    private BenchHost _host = null!;
    private IBuildStatus _build = null!;
    private IStepStatus _step = null!;
    private ILogStatus _log = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _host = BenchHost.Start();
        for (var b = 0; b < 10; b++)
        {
            _host.Host.AddBuilder($"builder-{b}");
            for (var k = 0; k < 2; k++)
            {
                var build = _host.Host.StartBuildAsync($"builder-{b}").GetAwaiter().GetResult();
                for (var s = 0; s < 5; s++)
                {
                    var step = build.AddStep($"step-{s}");
                    step.Start();
                    var log = step.AddLog("stdio");
                    log.AppendAsync(LogChannel.Stdout, "hello\nworld\n").AsTask().GetAwaiter().GetResult();
                    _step = step;
                    _log = log;
                }

                _build = build;
            }
        }
    }

    [GlobalCleanup]
    public void GlobalCleanup() => _host.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public IReadOnlyList<IStepStatus> Steps() => _build.Steps;

    [Benchmark]
    public IReadOnlyList<IBuildStatus> CurrentBuilds() => _host.Host.CurrentBuilds;

    [Benchmark]
    public BuildResult? StepResult() => _step.Result;

    [Benchmark]
    public long LogLineCount() => _log.LineCount;
}
