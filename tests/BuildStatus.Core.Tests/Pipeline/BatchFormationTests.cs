using BuildStatus.Core.Tests.Support;
using BuildStatus.Hosting;
using BuildStatus.Pipeline;
using BuildStatus.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace BuildStatus.Core.Tests.Pipeline;

[TestFixture]
public sealed class BatchFormationTests
{
    [Test]
    public async Task TakeBatch_EntityChangedWhileBatchIsTaken_AppearsOnceWithItsLatestRow()
    {
        // Regression: an entity re-queued by a change made while the writer was still taking the batch was
        // taken twice, so one batch held two rows with the same key (which a backend rejects).
        var recording = new RecordingStore(new InMemoryBuildStore());
        var options = new BuildStatusOptions();
        using var metrics = new BuildStatusMetrics(null);
        await using var pipeline = new WritePipeline(recording, options, TimeProvider.System, Random.Shared.NextDouble, NullLogger.Instance, metrics);
        var entity = new ChangingWorker(pipeline, "w", changesDuringSnapshot: 3);
        lock (entity.SyncRoot)
        {
            pipeline.MarkDirty(entity);
        }

        pipeline.Start();
        await pipeline.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var batches = recording.Batches;
        Assert.That(batches.All(b => b.Workers.Select(w => w.Name).Distinct().Count() == b.Workers.Count), Is.True);
        var stored = await recording.GetWorkerAsync("w");
        Assert.That(stored!.Host, Is.EqualTo("version 4"), "the latest snapshot wins");
    }

    [Test]
    public async Task Signal_ManyChanges_DoNotAccumulateWakeUps()
    {
        // Regression: every queued change released the writer's semaphore once, so a busy host would
        // eventually overflow its count; a wake-up is now outstanding at most once.
        var options = new BuildStatusOptions();
        using var metrics = new BuildStatusMetrics(null);
        await using var pipeline = new WritePipeline(new InMemoryBuildStore(), options, TimeProvider.System, Random.Shared.NextDouble, NullLogger.Instance, metrics);
        var entities = Enumerable.Range(0, 10_000).Select(i => new ChangingWorker(pipeline, $"w{i}", 0)).ToArray();
        foreach (var e in entities)
        {
            lock (e.SyncRoot)
            {
                pipeline.MarkDirty(e);
            }
        }

        Assert.That(pipeline.PendingSignals, Is.LessThanOrEqualTo(1));
        pipeline.Start();
        await pipeline.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(pipeline.QueueLength, Is.Zero);
    }

    private sealed class ChangingWorker(WritePipeline pipeline, string name, int changesDuringSnapshot) : PersistedEntity
    {
        private readonly Lock _sync = new();
        private int _version = 1;
        private int _changesLeft = changesDuringSnapshot;

        internal override Lock SyncRoot => _sync;

        internal override void AppendTo(EntitySnapshot snapshot)
        {
            snapshot.Row = new StoredWorker(name, $"version {_version}", new Dictionary<string, string>(), true, null);
            if (_changesLeft-- > 0)
            {
                // A change made "concurrently", between this snapshot and the end of the batch.
                _version++;
                pipeline.MarkDirty(this);
            }
        }
    }
}
