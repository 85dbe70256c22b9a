using BuildStatus.Core.Tests.Support;

namespace BuildStatus.Core.Tests.Process;

[TestFixture]
public sealed class LogFinishTests
{
    [Test]
    public async Task Finish_Twice_ThrowsInvalidOperationSayingFinishNotAppend()
    {
        await using var t = await TestHost.StartAsync();
        var (_, _, log) = await TestHost.StartBuildWithLogAsync(t.Host);
        log.Finish();

        var finish = Assert.Throws<InvalidOperationException>(() => log.Finish());
        var append = Assert.ThrowsAsync<InvalidOperationException>(async () => await log.AppendAsync(LogChannel.Stdout, "late\n"));

        Assert.Multiple(() =>
        {
            Assert.That(finish!.Message, Does.StartWith("Cannot finish log 'stdio' of step 'compile'").And.Contain("the log has finished"));
            Assert.That(append!.Message, Does.StartWith("Cannot append to log 'stdio'"));
        });
    }
}
