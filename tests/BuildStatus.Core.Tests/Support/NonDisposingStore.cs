using BuildStatus.Storage.Testing;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Support;

/// <summary>Lets several hosts (one after another) share one store that the test owns.</summary>
internal sealed class NonDisposingStore(IBuildStore inner) : DelegatingBuildStore(inner)
{
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    protected override void Dispose(bool disposing)
    {
    }
}
