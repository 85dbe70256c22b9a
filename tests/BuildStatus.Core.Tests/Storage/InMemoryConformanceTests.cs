using BuildStatus.Storage;
using BuildStatus.Storage.Testing;
using NUnit.Framework;

namespace BuildStatus.Core.Tests.Storage;

// [TestFixture] is inherited, but repeating it makes this assembly reference nunit.framework, without which the
// NUnit adapter does not look for tests in it at all.
[TestFixture]
public sealed class InMemoryConformanceTests : BuildStoreConformanceTests
{
    // History lives in this process only, so the suite's durability cases are skipped for it.
    protected override bool IsDurable => false;

    protected override IBuildStore CreateStore(string directory) => new InMemoryBuildStore();
}
