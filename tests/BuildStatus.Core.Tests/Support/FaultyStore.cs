using BuildStatus.Storage.Testing;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Support;

/// <summary>A store whose batch writes can be stalled, failed a number of times, or failed for good.</summary>
internal sealed class FaultyStore(IBuildStore inner) : DelegatingBuildStore(inner)
{
    private readonly Lock _sync = new();
    private TaskCompletionSource? _stall;
    private int _failuresLeft;
    private bool _failForever;
    private int _applied;
    private int _failed;

    public int AppliedBatches => Volatile.Read(ref _applied);

    public int FailedBatches => Volatile.Read(ref _failed);

    /// <summary>Makes every ApplyAsync wait until <see cref="Release"/>.</summary>
    public void Stall()
    {
        lock (_sync)
        {
            _stall ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Release()
    {
        TaskCompletionSource? stall;
        lock (_sync)
        {
            stall = _stall;
            _stall = null;
        }

        stall?.TrySetResult();
    }

    public void FailNext(int count)
    {
        lock (_sync)
        {
            _failuresLeft = count;
        }
    }

    public void FailForever(bool on)
    {
        lock (_sync)
        {
            _failForever = on;
        }
    }

    public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        Task? stall;
        bool fail;
        lock (_sync)
        {
            stall = _stall?.Task;
            fail = _failForever || _failuresLeft > 0;
            if (_failuresLeft > 0)
            {
                _failuresLeft--;
            }
        }

        if (stall is not null)
        {
            await stall.WaitAsync(cancellationToken);
        }

        if (fail)
        {
            Interlocked.Increment(ref _failed);
            throw new IOException("injected: disk unavailable");
        }

        await Inner.ApplyAsync(batch, cancellationToken);
        Interlocked.Increment(ref _applied);
    }
}
