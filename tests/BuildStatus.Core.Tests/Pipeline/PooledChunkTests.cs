using System.Buffers;
using System.Runtime.InteropServices;
using BuildStatus.Core.Tests.Support;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Core.Tests.Pipeline;

/// <summary>
/// With a store that keeps no chunk memory (<see cref="IBuildStore.RetainsChunkMemory"/> false), logs back their
/// chunks with pooled arrays and give each back once, after its batch is committed or dropped, never while the store
/// may still read it (a retried batch included). With a store that may keep chunk memory, no chunk is pooled. The
/// pool also holds the logs' pending lines, which go back when a log finishes.
/// </summary>
[TestFixture]
public sealed class PooledChunkTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AppendAsync_StoreKeepsNoChunkMemory_ChunksUsePooledArraysEachReturnedOnceAfterCommit()
    {
        var pool = new CountingPool();
        var store = new CopyingStore(retainsChunkMemory: false, pool);
        await using var t = await TestHost.StartAsync(o => { o.ChunkPool = pool; o.RetryBaseDelay = TimeSpan.FromMilliseconds(1); }, store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        // The first batch with chunks fails once (transiently) and is retried with the same chunks.
        store.FailNextChunkBatch();
        var expected = new List<string>();
        for (var round = 0; round < 5; round++)
        {
            var lines = Enumerable.Range(0, 40).Select(i => $"round {round} line {i}").ToList();
            expected.AddRange(lines);
            await log.AppendAsync(LogChannel.Stdout, string.Concat(lines.Select(l => l + "\n")));
            await t.Host.FlushAsync().WaitAsync(Limit);
        }

        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);
        await t.Host.FlushAsync().WaitAsync(Limit);

        var stored = await log.Persistent.ReadLinesAsync().WaitAsync(Limit);
        Assert.Multiple(() =>
        {
            Assert.That(stored.Select(l => l.Text), Is.EqualTo(expected));
            Assert.That(store.ChunksSeen, Is.GreaterThanOrEqualTo(5));
            Assert.That(store.ChunksNotRented, Is.Zero, "every chunk the store saw was backed by an array rented from the pool and not yet returned");
            Assert.That(store.FailedOnce, Is.True);
            Assert.That(pool.Rented, Is.EqualTo(pool.Returned), "every rented array came back");
            Assert.That(pool.Outstanding, Is.Zero);
            Assert.That(pool.DoubleReturns, Is.Zero);
        });
    }

    [Test]
    public async Task AppendAsync_StoreMayKeepChunkMemory_ChunksOwnExactSizeArraysAndNothingIsPooled()
    {
        var pool = new CountingPool();
        var store = new CopyingStore(retainsChunkMemory: true, pool);
        await using var t = await TestHost.StartAsync(o => o.ChunkPool = pool, store);
        var (build, step, log) = await TestHost.StartBuildWithLogAsync(t.Host);

        await log.AppendAsync(LogChannel.Stdout, "one\ntwo\n");
        await t.Host.FlushAsync().WaitAsync(Limit);
        log.Finish();
        step.Finish(BuildResult.Success);
        await build.FinishAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(store.ChunksSeen, Is.GreaterThanOrEqualTo(1));
            Assert.That(store.ChunksNotRented, Is.EqualTo(store.ChunksSeen), "no chunk is backed by a pooled array");
            Assert.That(store.ChunksNotExact, Is.Zero, "each chunk's text and channels fill one array of its own");
        });
    }

    [Test]
    public async Task AppendAsync_BatchRejected_PooledArraysReturnedWhenItsRowsAreQuarantined()
    {
        var pool = new CountingPool();
        var store = new CopyingStore(retainsChunkMemory: false, pool);
        await using var t = await TestHost.StartAsync(o => o.ChunkPool = pool, store);
        var (_, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        await t.Host.FlushAsync().WaitAsync(Limit);

        store.RejectChunkBatches();
        await log.AppendAsync(LogChannel.Stdout, "doomed\n");
        Assert.That(async () => await t.Host.FlushAsync().WaitAsync(Limit), Throws.Exception);

        Assert.Multiple(() =>
        {
            Assert.That(store.ChunksSeen, Is.GreaterThanOrEqualTo(1));
            Assert.That(pool.Rented, Is.GreaterThanOrEqualTo(1));
            Assert.That(pool.Outstanding, Is.Zero, "the quarantined chunk's array came back");
            Assert.That(pool.DoubleReturns, Is.Zero);
        });
    }

    /// <summary>An array pool that allocates, and counts what is rented and returned.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        private readonly Lock _sync = new();
        private readonly HashSet<byte[]> _outstanding = new(ReferenceEqualityComparer.Instance);
        private int _rented;
        private int _returned;
        private int _doubleReturns;

        public int Rented
        {
            get
            {
                lock (_sync)
                {
                    return _rented;
                }
            }
        }

        public int Returned
        {
            get
            {
                lock (_sync)
                {
                    return _returned;
                }
            }
        }

        public int Outstanding
        {
            get
            {
                lock (_sync)
                {
                    return _outstanding.Count;
                }
            }
        }

        public int DoubleReturns
        {
            get
            {
                lock (_sync)
                {
                    return _doubleReturns;
                }
            }
        }

        public bool IsOutstanding(byte[] array)
        {
            lock (_sync)
            {
                return _outstanding.Contains(array);
            }
        }

        // One byte more than asked, as a pool may give: the chunk must use only the lengths it was given.
        public override byte[] Rent(int minimumLength)
        {
            var array = new byte[minimumLength + 1];
            lock (_sync)
            {
                _rented++;
                _outstanding.Add(array);
            }

            return array;
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            lock (_sync)
            {
                if (_outstanding.Remove(array))
                {
                    _returned++;
                }
                else
                {
                    _doubleReturns++;
                }
            }
        }
    }

    /// <summary>
    /// A store that copies every chunk before the in-memory store keeps it, as a store that keeps no chunk memory
    /// must, and checks the arrays it was given: whether each was rented (and not yet returned) or exact-size.
    /// </summary>
    private sealed class CopyingStore(bool retainsChunkMemory, CountingPool pool) : DelegatingBuildStore(new InMemoryBuildStore())
    {
        private int _chunksSeen;
        private int _chunksNotRented;
        private int _chunksNotExact;
        private int _failNext;
        private volatile bool _failedOnce;
        private volatile bool _reject;

        public int ChunksSeen => Volatile.Read(ref _chunksSeen);

        public int ChunksNotRented => Volatile.Read(ref _chunksNotRented);

        public int ChunksNotExact => Volatile.Read(ref _chunksNotExact);

        public bool FailedOnce => _failedOnce;

        public override bool RetainsChunkMemory => retainsChunkMemory;

        public void FailNextChunkBatch() => Volatile.Write(ref _failNext, 1);

        public void RejectChunkBatches() => _reject = true;

        public override Task ApplyAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        {
            foreach (var chunk in batch.LogChunks)
            {
                Interlocked.Increment(ref _chunksSeen);
                if (!MemoryMarshal.TryGetArray(chunk.Utf8Text, out var text) || !MemoryMarshal.TryGetArray(chunk.Channels, out var channels)
                    || !ReferenceEquals(text.Array, channels.Array))
                {
                    Interlocked.Increment(ref _chunksNotRented);
                    Interlocked.Increment(ref _chunksNotExact);
                    continue;
                }

                if (!pool.IsOutstanding(text.Array!))
                {
                    Interlocked.Increment(ref _chunksNotRented);
                }

                if (text.Offset != 0 || channels.Offset != text.Count || text.Array!.Length != text.Count + channels.Count)
                {
                    Interlocked.Increment(ref _chunksNotExact);
                }
            }

            if (batch.LogChunks.Count > 0 && _reject)
            {
                throw new BatchRejectedException("Rejected by the test.", [batch.LogChunks[0].Log]);
            }

            if (batch.LogChunks.Count > 0 && Interlocked.Exchange(ref _failNext, 0) == 1)
            {
                _failedOnce = true;
                throw new IOException("A transient failure from the test.");
            }

            var copies = batch.LogChunks.Select(c => new StoredLogChunk(c.Log, c.FirstLine, c.Utf8Text.ToArray(), c.Channels.ToArray())).ToArray();
            return base.ApplyAsync(batch with { LogChunks = copies }, cancellationToken);
        }
    }
}
