using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Core.Tests.Pipeline;

/// <summary>
/// The writer hands the next batch to <see cref="IBuildStore.PrepareAsync"/> while the previous one is being
/// applied. Writes must still reach the store in order, each prepared batch must be the one applied next, a failing
/// preparation must lose nothing, and what the persistent views call committed must be what the store committed,
/// not the snapshot waiting in the next batch.
/// </summary>
[TestFixture]
public sealed class PreparedBatchTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    // The writer takes a batch early only once 256 KiB of log text wait; this block is 300 KB.
    private const int BlockLines = 3000;
    private static readonly string Block = string.Concat(Enumerable.Range(0, BlockLines).Select(i => $"{i:D6} {new string('x', 92)}\n"));

    [Test]
    public async Task ApplyInProgress_NextBatchIsPreparedMeanwhile_ThenAppliedInOrder()
    {
        var store = new PreparingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.Host.FlushAsync().WaitAsync(Limit);
        var appliedBefore = store.Applied.Count;

        store.Stall();
        await log.AppendAsync(LogChannel.Stdout, "first\n");
        await store.WaitForStalledApplyAsync().WaitAsync(Limit);

        // The writer is stuck applying the first batch; the next change is taken and prepared meanwhile.
        await log.AppendAsync(LogChannel.Stdout, Block);
        await store.WaitForPreparedAsync(1).WaitAsync(Limit);
        Assert.That(store.Applied, Has.Count.EqualTo(appliedBefore), "nothing has completed while the first batch is stalled");

        store.Release();
        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        await t.Host.FlushAsync().WaitAsync(Limit);

        var lines = await log.Persistent.ReadLinesAsync().WaitAsync(Limit);
        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => l.Text), Is.EqualTo(Block.Split('\n')[..BlockLines].Prepend("first")));
            Assert.That(store.Prepared[0], Is.SameAs(store.Applied[appliedBefore + 1]), "the prepared batch is the one applied right after the stalled one");
            Assert.That(store.ChunkFirstLines, Is.Ordered, "chunks reach the store in line order");
        });
    }

    [Test]
    public async Task ApplyInProgress_CommittedCountsShowTheAppliedBatchNotThePreparedOne()
    {
        var store = new PreparingStore(new InMemoryBuildStore());
        await using var t = await TestHost.StartAsync(store: store);
        var (_, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.Host.FlushAsync().WaitAsync(Limit);

        store.Stall();
        await log.AppendAsync(LogChannel.Stdout, "one\n");
        await store.WaitForStalledApplyAsync().WaitAsync(Limit);
        await log.AppendAsync(LogChannel.Stdout, Block);
        step.SetStateText("still going");
        await store.WaitForPreparedAsync(1).WaitAsync(Limit);

        // Let only the first (stalled) batch complete; hold the prepared one.
        store.StallNext();
        store.Release();
        await store.WaitForStalledApplyAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(log.Persistent.LineCount, Is.EqualTo(1), "only the first batch is committed");
            Assert.That(log.Persistent.ByteCount, Is.EqualTo(3));
            Assert.That(step.Persistent.StateText, Is.Not.EqualTo("still going"));
        });

        store.Release();
        await t.Host.FlushAsync().WaitAsync(Limit);
        Assert.Multiple(() =>
        {
            Assert.That(log.Persistent.LineCount, Is.EqualTo(1 + BlockLines));
            Assert.That(log.Persistent.ByteCount, Is.EqualTo(3 + (BlockLines * 99)));
            Assert.That(step.Persistent.StateText, Is.EqualTo("still going"));
        });
    }

    [Test]
    public async Task PrepareThrows_BatchIsAppliedAnywayAndNothingIsLost()
    {
        var store = new PreparingStore(new InMemoryBuildStore()) { PrepareFails = true };
        await using var t = await TestHost.StartAsync(store: store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.Host.FlushAsync().WaitAsync(Limit);

        store.Stall();
        await log.AppendAsync(LogChannel.Stdout, "a\n");
        await store.WaitForStalledApplyAsync().WaitAsync(Limit);
        await log.AppendAsync(LogChannel.Stdout, Block);
        await store.WaitForPreparedAsync(1).WaitAsync(Limit);
        store.Release();
        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);

        var lines = await log.Persistent.ReadLinesAsync().WaitAsync(Limit);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(Block.Split('\n')[..BlockLines].Prepend("a")));
    }

    /// <summary>Records prepared and applied batches; applies can be stalled one at a time.</summary>
    private sealed class PreparingStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        private readonly Lock _sync = new();
        private TaskCompletionSource? _stall;
        private TaskCompletionSource _stalledApply = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _preparedChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _stallNext;

        public bool PrepareFails { get; init; }

        public List<WriteBatch> Prepared { get; } = [];

        public List<WriteBatch> Applied { get; } = [];

        public List<long> ChunkFirstLines { get; } = [];

        public void Stall()
        {
            lock (_sync)
            {
                _stall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _stalledApply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        /// <summary>After the current stall is released, stalls the next apply too.</summary>
        public void StallNext()
        {
            lock (_sync)
            {
                _stallNext = true;
            }
        }

        public void Release()
        {
            TaskCompletionSource? stall;
            lock (_sync)
            {
                stall = _stall;
                _stall = null;
                if (_stallNext)
                {
                    _stallNext = false;
                    Stall();
                }
            }

            stall?.TrySetResult();
        }

        public Task WaitForStalledApplyAsync()
        {
            lock (_sync)
            {
                return _stalledApply.Task;
            }
        }

        public async Task WaitForPreparedAsync(int count)
        {
            while (true)
            {
                Task changed;
                lock (_sync)
                {
                    if (Prepared.Count >= count)
                    {
                        return;
                    }

                    changed = _preparedChanged.Task;
                }

                await changed;
            }
        }

        public override Task PrepareAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            TaskCompletionSource changed;
            lock (_sync)
            {
                Prepared.Add(batch);
                changed = _preparedChanged;
                _preparedChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
            return PrepareFails ? throw new IOException("injected: cannot prepare") : Task.CompletedTask;
        }

        public override async Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            Task? stall;
            lock (_sync)
            {
                stall = _stall?.Task;
                if (stall is not null)
                {
                    _stalledApply.TrySetResult();
                }
            }

            if (stall is not null)
            {
                await stall.WaitAsync(cancellationToken);
            }

            await base.ApplyAsync(batch, cancellationToken);
            lock (_sync)
            {
                Applied.Add(batch);
                ChunkFirstLines.AddRange(batch.LogChunks.Select(c => c.FirstLine));
            }
        }
    }
}
