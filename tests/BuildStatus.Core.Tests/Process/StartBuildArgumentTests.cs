using BuildStatus.Core.Tests.Support;

namespace BuildStatus.Core.Tests.Process;

[TestFixture]
public sealed class StartBuildArgumentTests
{
    private static IEnumerable<TestCaseData> BadInfos()
    {
        var stamp = new SourceStamp("https://example.org/a.git");
        yield return new TestCaseData(new BuildStartInfo { SourceStamps = null! }, "SourceStamps").SetName("SourceStamps null");
        yield return new TestCaseData(new BuildStartInfo { SourceStamps = [null!] }, "SourceStamps").SetName("SourceStamps with a null");
        yield return new TestCaseData(new BuildStartInfo { SourceStamps = [stamp with { Repository = null! }] }, "repository").SetName("stamp without repository");
        yield return new TestCaseData(new BuildStartInfo { Changes = null! }, "Changes").SetName("Changes null");
        yield return new TestCaseData(new BuildStartInfo { Changes = [null!] }, "Changes").SetName("Changes with a null");
        yield return new TestCaseData(new BuildStartInfo { Changes = [new BuildChange("r1", null!, null)] }, "author").SetName("change without author");
        yield return new TestCaseData(new BuildStartInfo { ResponsibleUsers = null! }, "ResponsibleUsers").SetName("ResponsibleUsers null");
        yield return new TestCaseData(new BuildStartInfo { ResponsibleUsers = [null!] }, "responsible user").SetName("ResponsibleUsers with a null");
        yield return new TestCaseData(new BuildStartInfo { Properties = new Dictionary<string, PropertyValue> { ["p"] = null! } }, "Properties['p']").SetName("Properties with a null value");
    }

    [TestCaseSource(nameof(BadInfos))]
    public async Task StartBuildAsync_InvalidInfo_ThrowsWithParamNameInfoAndTheProperty(BuildStartInfo info, string named)
    {
        await using var t = await TestHost.StartAsync();
        var builder = t.Host.AddBuilder("b");

        var error = Assert.CatchAsync<ArgumentException>(() => builder.StartBuildAsync(info));

        Assert.Multiple(() =>
        {
            Assert.That(error!.ParamName, Is.EqualTo("info"));
            Assert.That(error.Message, Does.Contain(named));
            Assert.That(builder.CurrentBuilds, Is.Empty);
        });
    }
}
