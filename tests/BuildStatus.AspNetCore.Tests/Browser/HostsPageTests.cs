using BuildStatus;
using BuildStatus.AspNetCore.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace BuildStatus.AspNetCore.Tests.Browser;

/// <summary>The Hosts view with a second host on the web sample's SQLite file, named with hostile text.</summary>
[TestFixture]
[NonParallelizable]
public sealed class HostsPageTests : BrowserFixture
{
    private const string HostileHost = "<script>alert(1)</script>";

    private OtherHost? _other;

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["host-name"] = "web-host",
        ["share-events"] = "true",
    };

    [OneTimeTearDown]
    public async Task StopOtherHostAsync()
    {
        if (_other is not null)
        {
            await _other.DisposeAsync();
        }
    }

    [Test]
    public async Task Hosts_BuildStartedOnTheOtherHostAfterLoad_AppearsWithoutReloadAndItsHostNameIsText()
    {
        var other = _other!;
        var dialogs = new List<string>();
        var page = await NewPageAsync(dialogs);
        var snapshots = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/ci/api/hosts", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref snapshots);
            }
        };
        await GotoAsync(page, "/ci/hosts");
        var own = page.Locator($"section[data-host=\"i{Factory.Host.InstanceId}\"]");
        var section = page.Locator($"section[data-host=\"i{other.Host.InstanceId}\"]");
        await Expect(own.Locator("h2")).ToContainTextAsync("web-host");
        await Expect(own.Locator("h2")).ToContainTextAsync("this host");
        await Expect(section.Locator("h2")).ToHaveTextAsync(HostileHost);
        await page.EvaluateAsync("() => { window.notReloaded = true; }");

        // The server closes streams every 2 s: the build below arrives on a stream the browser reopened (from the
        // snapshot's id, or the Last-Event-ID of the last event it got).
        var opened = Factory.StreamRequests.Count;
        var deadline = DateTime.UtcNow + Timeout;
        while (Factory.StreamRequests.Count <= opened)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the browser did not reopen its stream");
            await Task.Delay(50);
        }

        var name = Builds.UniqueName("remote-page");
        var build = await other.Host.AddBuilder(name).StartBuildAsync();
        build.AddStep("compile").Start();
        var row = section.Locator($"tr[data-build=\"{name}#{build.Number}\"]");
        await Expect(row).ToBeVisibleAsync();
        await Expect(row).ToContainTextAsync("compile");
        await ScreenshotAsync(page, "hosts");
        await build.FinishAsync(BuildResult.Success);
        await Expect(row).ToHaveCountAsync(0);

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(await page.EvaluateAsync<bool>("() => window.notReloaded === true"), Is.True, "the page was not reloaded");
            Assert.That(Volatile.Read(ref snapshots), Is.EqualTo(1), "updated from the stream (which the server closes every 2 s), never by fetching the snapshot again");
            Assert.That(await page.Locator("section.host script").CountAsync(), Is.EqualTo(0), "the host name is text, not an element");
            Assert.That(dialogs, Is.Empty, "no script ran");
        });
    }

    [Test]
    public async Task BuildPage_AnotherHostsRunningBuild_FollowsItsStepsLiveWithoutReload()
    {
        var other = _other!;
        var name = Builds.UniqueName("remote-build-page");
        var build = await other.Host.AddBuilder(name).StartBuildAsync();
        build.AddStep("compile").Start();
        await other.Host.FlushAsync();
        var dialogs = new List<string>();
        var page = await NewPageAsync(dialogs);
        await GotoAsync(page, $"/ci/builders/{name}/builds/{build.Number}");
        await Expect(page.Locator("tr[data-step=\"0\"]")).ToContainTextAsync("compile");
        await page.EvaluateAsync("() => { window.notReloaded = true; }");

        var test = build.AddStep("test");
        test.Start();
        await Expect(page.Locator("tr[data-step=\"1\"]")).ToContainTextAsync("test");
        await build.FinishAsync(BuildResult.Success);
        await Expect(page.Locator("h1 .badge")).ToContainTextAsync("success");

        Assert.That(await page.EvaluateAsync<bool>("() => window.notReloaded === true"), Is.True, "updated from the stream, not by reloading");
        Assert.That(dialogs, Is.Empty);
    }

    protected override async Task BeforeServerStartsAsync(WebFactory factory)
        => _other = await OtherHost.StartAsync(factory.Directory, HostileHost);
}
