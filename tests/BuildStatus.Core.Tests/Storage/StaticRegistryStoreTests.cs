using System.Collections.Concurrent;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;

namespace BuildStatus.Core.Tests.Storage;

// A store that claims persistence but keeps history in a static in-process registry (instances on one directory
// share it, disposal keeps it): the journal-style cheat. It passes every case that stays in one process, so the
// suite's fresh-process durability case must be what fails it.
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class StaticRegistryStoreTests
{
    [Test]
    public async Task ReopenInFreshProcess_StoreKeepingDataInProcessMemory_FailsTheSuite()
    {
        var fixture = new StaticRegistryConformanceTests();
        await fixture.SetUpAsync();
        try
        {
            var failure = Assert.ThrowsAsync<AssertionException>(fixture.Reopen_InFreshProcess_ReadsEveryAcknowledgedBatch);

            Assert.That(failure!.Message, Does.Contain("the fresh process must read what this one stored"));
        }
        finally
        {
            await fixture.TearDownAsync();
        }
    }

    [Test]
    public async Task ReopenInSameProcess_StoreKeepingDataInProcessMemory_PassesSoOnlyTheFreshProcessCatchesIt()
    {
        var fixture = new StaticRegistryConformanceTests();
        await fixture.SetUpAsync();
        try
        {
            await fixture.Reopen_AfterDispose_ReadsEverythingAndContinuesNumbers();
        }
        finally
        {
            await fixture.TearDownAsync();
        }
    }

    [Test]
    public async Task ReopenInFreshProcess_InMemoryStoreClaimingDurability_FailsTheSuite()
    {
        var fixture = new ForgetfulConformanceTests();
        await fixture.SetUpAsync();
        try
        {
            Assert.ThrowsAsync<AssertionException>(fixture.Reopen_InFreshProcess_ReadsEveryAcknowledgedBatch);
        }
        finally
        {
            await fixture.TearDownAsync();
        }
    }

    // Explicit: run only by the tests above, which expect it to fail the durability case.
    [Explicit("A cheating store: StaticRegistryStoreTests runs it and expects the durability case to fail.")]
    public sealed class StaticRegistryConformanceTests : BuildStoreConformanceTests
    {
        protected override IBuildStore CreateStore(string directory) => new StaticRegistryStore(directory);
    }

    [Explicit("A store that forgets on dispose while claiming durability: StaticRegistryStoreTests expects it to fail.")]
    public sealed class ForgetfulConformanceTests : BuildStoreConformanceTests
    {
        protected override IBuildStore CreateStore(string directory) => new InMemoryBuildStore();
    }

    private sealed class StaticRegistryStore(string directory) : DelegatingBuildStore(Registry.GetOrAdd(directory, _ => new InMemoryBuildStore()))
    {
        private static readonly ConcurrentDictionary<string, InMemoryBuildStore> Registry = new(StringComparer.Ordinal);

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

        protected override void Dispose(bool disposing)
        {
        }
    }
}
