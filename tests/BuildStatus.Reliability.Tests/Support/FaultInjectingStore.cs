using BuildStatus.Storage.Testing;
using BuildStatus.Storage;

namespace BuildStatus.Reliability.Tests.Support;

/// <summary>The exception a fault injector throws, so tests can tell injected faults from real ones.</summary>
internal sealed class InjectedFaultException(string message) : IOException(message);

/// <summary>
/// Wraps a store and injects faults into writes (<see cref="ApplyAsync"/> and <see cref="CreateBuildAsync"/>):
/// transient exceptions at a seeded rate, added latency, a hang until released (or for a given time), and a
/// permanent failure. Reads pass through unless <see cref="FailReads"/> is set.
/// </summary>
internal sealed class FaultInjectingStore(IBuildStore inner, int seed = 1) : DelegatingBuildStore(inner)
{
    private readonly Lock _sync = new();
    private readonly Random _random = new(seed);
    private TaskCompletionSource? _hang;
    private long _injected;
    private long _applied;
    private long _applyCalls;

    /// <summary>Gets or sets the probability (0..1) that a write throws a transient fault.</summary>
    public double TransientRate { get; set; }

    /// <summary>Gets or sets extra latency added to every write.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Gets or sets whether every write fails (a backend that is down).</summary>
    public bool Permanent { get; set; }

    /// <summary>Gets or sets whether reads fail too while <see cref="Permanent"/> is set.</summary>
    public bool FailReads { get; set; }

    /// <summary>Gets or sets whether CreateBuildAsync is subject to transient faults (it is never subject to hangs).</summary>
    public bool FaultCreates { get; set; }

    /// <summary>Gets or sets whether a hang ignores the cancellation token (a driver stuck in a synchronous call).</summary>
    public bool HangIgnoresCancellation { get; set; }

    public long InjectedFaults => Interlocked.Read(ref _injected);

    public long AppliedBatches => Interlocked.Read(ref _applied);

    public long ApplyCalls => Interlocked.Read(ref _applyCalls);

    /// <summary>Makes writes wait until <see cref="Release"/> is called or <paramref name="duration"/> passes.</summary>
    public void Hang(TimeSpan? duration = null)
    {
        TaskCompletionSource tcs;
        lock (_sync)
        {
            tcs = _hang ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        if (duration is { } d)
        {
            _ = Task.Delay(d).ContinueWith(_ => tcs.TrySetResult(), TaskScheduler.Default);
        }
    }

    public void Release()
    {
        TaskCompletionSource? hang;
        lock (_sync)
        {
            hang = _hang;
            _hang = null;
        }

        hang?.TrySetResult();
    }

    public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _applyCalls);
        Task? hang;
        lock (_sync)
        {
            hang = _hang?.Task;
        }

        if (hang is not null)
        {
            await (HangIgnoresCancellation ? hang : hang.WaitAsync(cancellationToken));
        }

        await BeforeWriteAsync(cancellationToken);
        await Inner.ApplyAsync(batch, cancellationToken);
        Interlocked.Increment(ref _applied);
    }

    public override async Task<int> CreateBuildAsync(StoredBuild build, CancellationToken cancellationToken = default)
    {
        if (FaultCreates || Permanent)
        {
            await BeforeWriteAsync(cancellationToken);
        }

        return await Inner.CreateBuildAsync(build, cancellationToken);
    }

    public override Task<StoredBuild?> GetBuildAsync(BuildKey key, CancellationToken cancellationToken = default)
    {
        ThrowIfReadsFail();
        return base.GetBuildAsync(key, cancellationToken);
    }

    public override Task<IReadOnlyList<StoredBuild>> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default)
    {
        ThrowIfReadsFail();
        return base.QueryBuildsAsync(query, cancellationToken);
    }

    private void ThrowIfReadsFail()
    {
        if (Permanent && FailReads)
        {
            Interlocked.Increment(ref _injected);
            throw new InjectedFaultException("injected: backend down (read)");
        }
    }

    private async Task BeforeWriteAsync(CancellationToken cancellationToken)
    {
        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, cancellationToken);
        }

        bool fail;
        lock (_sync)
        {
            fail = Permanent || (TransientRate > 0 && _random.NextDouble() < TransientRate);
        }

        if (fail)
        {
            Interlocked.Increment(ref _injected);
            throw new InjectedFaultException(Permanent ? "injected: backend down" : "injected: transient write failure");
        }
    }
}
