using BenchmarkDotNet.Attributes;

namespace BuildStatus.Benchmarks;

/// <summary>The adapter between live status objects and their persistent counterparts.</summary>
public class AdapterBenchmarks
{
    private BenchHost _host = null!;
    private IStatusAdapter _adapter = null!;
    private IBuild _build = null!;
    private IPersistentBuild _persistentBuild = null!;
    private IStep _step = null!;
    private IPersistentStep _persistentStep = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _host = BenchHost.Start();
        _adapter = _host.Host.Adapter;
        for (var b = 0; b < 10; b++)
        {
            _host.Host.AddBuilder($"builder-{b}");
        }

        _build = _host.Host.StartBuildAsync("builder-7").GetAwaiter().GetResult();
        _step = _build.AddStep("compile");
        _step.Start();
        _host.Host.FlushAsync().GetAwaiter().GetResult();
        _persistentBuild = _build.Persistent;
        _persistentStep = _step.Persistent;
    }

    [GlobalCleanup]
    public void GlobalCleanup() => _host.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public IBuildStatus? BuildToStatus() => _adapter.ToStatus(_persistentBuild);

    [Benchmark]
    public IPersistentBuild BuildToPersistent() => _adapter.ToPersistent(_build);

    [Benchmark]
    public IStepStatus? StepToStatus() => _adapter.ToStatus(_persistentStep);

    [Benchmark]
    public IPersistentStep StepToPersistent() => _adapter.ToPersistent(_step);

    [Benchmark]
    public IPersistentBuild? AdaptToPersistent() => _adapter.Adapt<IPersistentBuild>(_build);

    [Benchmark]
    public IBuildStatus? AdaptToStatus() => _adapter.Adapt<IBuildStatus>(_persistentBuild);
}
