using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Storage;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class WriteBatchRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void Check_SeveralRulesBroken_NamesEveryOffendingKey()
    {
        var stored = new FakeState { Builds = { new BuildKey("linux", 1) }, Steps = { new StepKey("linux", 1, 1) }, Lines = { [new LogKey("linux", 1, 1, 1)] = 10 } };
        var batch = new WriteBatch
        {
            Steps = [Step(new StepKey("linux", 9, 1))],
            Logs = [Log(new LogKey("linux", 1, 7, 1))],
            LogChunks = [Chunk(new LogKey("linux", 1, 1, 1), 11, 2), Chunk(new LogKey("linux", 1, 1, 5), 0, 1)],
        };

        var rejection = Assert.Throws<BatchRejectedException>(() => WriteBatchRules.Check(batch, stored));

        Assert.That(rejection!.Keys, Is.EquivalentTo(new object[] { new StepKey("linux", 9, 1), new LogKey("linux", 1, 7, 1), new LogKey("linux", 1, 1, 1), new LogKey("linux", 1, 1, 5) }));
        Assert.That(rejection.Message, Does.Contain("gap").And.Contain("no log row").And.Contain("does not exist"));
    }

    [Test]
    public void Check_RetriedAndNewChunks_ReturnsOnlyTheNewOnesInOrder()
    {
        var log = new LogKey("linux", 1, 1, 1);
        var stored = new FakeState { Builds = { log.Step.Build }, Steps = { log.Step }, Lines = { [log] = 10 } };
        var retried = Chunk(log, 5, 5);
        var next = Chunk(log, 10, 3);
        var after = Chunk(log, 13, 2);

        var append = WriteBatchRules.Check(new WriteBatch { LogChunks = [retried, next, after] }, stored);

        Assert.That(append, Is.EqualTo(new[] { next, after }));
    }

    [Test]
    public void Check_ParentsInTheBatch_NeedNoStoredRows()
    {
        var log = new LogKey("linux", 1, 1, 1);
        var chunk = Chunk(log, 0, 4);
        var batch = new WriteBatch { Builds = [Build(1)], Steps = [Step(log.Step)], Logs = [Log(log)], LogChunks = [chunk] };

        Assert.That(WriteBatchRules.Check(batch, new FakeState()), Is.EqualTo(new[] { chunk }));
    }

    [Test]
    public void Check_LogOfStepWhoseBuildIsMissing_NamesTheStepAndTheLog()
    {
        var log = new LogKey("linux", 3, 1, 1);
        var batch = new WriteBatch { Steps = [Step(log.Step)], Logs = [Log(log)], LogChunks = [Chunk(log, 0, 1)] };

        var rejection = Assert.Throws<BatchRejectedException>(() => WriteBatchRules.Check(batch, new FakeState()));

        Assert.That(rejection!.Keys, Is.EqualTo(new object[] { log.Step, log }));
    }

    [Test]
    public void Check_MalformedBatch_RejectedBeforeTheStateIsAsked()
    {
        var stored = new FakeState();

        Assert.Throws<BatchRejectedException>(() => WriteBatchRules.Check(new WriteBatch { Builds = [Build(1), Build(1)] }, stored));
        Assert.That(stored.Asked, Is.Empty);
    }

    [Test]
    public void GetReferencedKeys_AnyBatch_CoversEveryKeyCheckAsksAbout()
    {
        var stored = new FakeState { Builds = { new BuildKey("linux", 1) }, Steps = { new StepKey("linux", 1, 1) }, Lines = { [new LogKey("linux", 1, 1, 1)] = 3 } };
        var batch = new WriteBatch
        {
            Builds = [Build(2)],
            Steps = [Step(new StepKey("linux", 1, 2)), Step(new StepKey("linux", 2, 1))],
            Logs = [Log(new LogKey("linux", 1, 2, 1)), Log(new LogKey("linux", 2, 1, 1))],
            LogChunks = [Chunk(new LogKey("linux", 1, 1, 1), 3, 1), Chunk(new LogKey("linux", 1, 2, 1), 0, 2), Chunk(new LogKey("linux", 2, 1, 1), 0, 2)],
        };

        var references = WriteBatchRules.GetReferencedKeys(batch);
        WriteBatchRules.Check(batch, stored);

        var listed = references.Builds.Cast<object>().Concat(references.Steps.Cast<object>()).Concat(references.Logs.Cast<object>());
        Assert.That(stored.Asked, Is.SubsetOf(listed));
        Assert.That(references.Builds, Does.Not.Contain(new BuildKey("linux", 2)), "a build in the batch is not looked up");
    }

    private static StoredBuild Build(int number) =>
        new("linux", number, "host-a", null, [], [], [], null, new Dictionary<string, PropertyValue>(), T0, null, "building", null);

    private static StoredStep Step(StepKey key) => new(key, "compile", "", null, null, null, [], new Dictionary<string, double>(), false);

    private static StoredLog Log(LogKey key) => new(key, "stdio", LogKind.Stdio, false, 0, 0);

    private static StoredLogChunk Chunk(LogKey log, long first, int count) =>
        new(log, [.. Enumerable.Range(0, count).Select(i => new LogLine(first + i, LogChannel.Stdout, "l"))]);

    private sealed class FakeState : IStoredBatchState
    {
        public HashSet<BuildKey> Builds { get; } = [];

        public HashSet<StepKey> Steps { get; } = [];

        public Dictionary<LogKey, long> Lines { get; } = [];

        public List<object> Asked { get; } = [];

        public bool BuildExists(BuildKey build)
        {
            Asked.Add(build);
            return Builds.Contains(build);
        }

        public bool StepExists(StepKey step)
        {
            Asked.Add(step);
            return Steps.Contains(step);
        }

        public long? GetStoredLineCount(LogKey log)
        {
            Asked.Add(log);
            return Lines.TryGetValue(log, out var n) ? n : null;
        }
    }
}
