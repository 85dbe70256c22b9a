using System.Diagnostics;
using System.Text;
using BuildStatus;
using BuildStatus.AspNetCore.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace BuildStatus.AspNetCore.Tests.Browser;

[TestFixture]
[NonParallelizable]
public sealed class PageTests : BrowserFixture
{
    private const string HostileName = "<script>alert(1)</script>";
    private const string HostileLine = "</pre><img src=x onerror=alert(1)>";

    [Test]
    public async Task Overview_BuildStartedAfterLoad_AppearsWithoutReload()
    {
        var name = Builds.UniqueName("live");
        Factory.Host.AddBuilder(name);
        var page = await NewPageAsync();
        await GotoAsync(page, "/ci/");
        var row = page.Locator($"tr[data-builder=\"{name}\"]");
        await Expect(row).ToBeVisibleAsync();

        var clock = Stopwatch.StartNew();
        var build = await Factory.Host.StartBuildAsync(name);
        build.AddStep("compile").Start();
        await Expect(row.Locator($"a[href$=\"/builds/{build.Number}\"]")).ToBeVisibleAsync();
        TestContext.Out.WriteLine($"build shown {clock.ElapsedMilliseconds} ms after it started");
        await Expect(row).ToContainTextAsync("compile");
        await ScreenshotAsync(page, "overview");

        await build.FinishAsync(BuildResult.Success);
        await Expect(row.Locator(".strip a.r-success")).ToHaveTextAsync(build.Number.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task Grid_BuildStartedAfterLoad_AppearsAsNewCell()
    {
        var name = Builds.UniqueName("grid");
        Factory.Host.AddBuilder(name);
        await Builds.RunAsync(Factory.Host, name);
        var page = await NewPageAsync();
        await GotoAsync(page, "/ci/grid");
        var cells = page.Locator($"tr[data-builder=\"{name}\"] .cell");
        await Expect(cells).ToHaveCountAsync(1);

        var build = await Factory.Host.StartBuildAsync(name);
        await Expect(cells).ToHaveCountAsync(2);
        await Expect(cells.First).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("r-running"));
        await build.FinishAsync(BuildResult.Failure);

        await Expect(cells.First).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("r-failure"));
        await ScreenshotAsync(page, "grid");
    }

    [Test]
    public async Task LogView_RunningLog_FollowsToItsLastLine()
    {
        var name = Builds.UniqueName("follow");
        Factory.Host.AddBuilder(name);
        var build = await Factory.Host.StartBuildAsync(name);
        var step = build.AddStep("run");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < 100; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"early {i + 1}");
        }

        await Factory.Host.FlushAsync();
        var page = await NewPageAsync();
        await GotoAsync(page, $"/ci/builders/{name}/builds/{build.Number}/steps/0/logs/0");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Following" })).ToHaveAttributeAsync("aria-pressed", "true");

        for (var i = 100; i < 3000; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, i % 7 == 0 ? $"\u001b[31mred {i + 1}\u001b[0m" : $"late {i + 1}");
        }

        log.Finish();
        await build.FinishAsync();

        await Expect(page.Locator("main[data-finished]")).ToHaveCountAsync(1);
        var last = page.Locator(".line[data-line=\"3000\"]");
        await Expect(last).ToBeInViewportAsync();
        await Expect(last.Locator(".tx")).ToHaveTextAsync("late 3000");
        await Expect(page.Locator(".line[data-line=\"2997\"] .fg-31")).ToHaveTextAsync("red 2997");
        await ScreenshotAsync(page, "following");
    }

    [Test]
    public async Task LogView_AnchorOnMillionLineLog_ShowsThatLine()
    {
        var name = Builds.UniqueName("million");
        Factory.Host.AddBuilder(name);
        var build = await Factory.Host.StartBuildAsync(name);
        var step = build.AddStep("big");
        step.Start();
        var log = step.AddLog("stdio");
        var text = new StringBuilder();
        for (var i = 0; i < 1_000_000; i++)
        {
            text.Append("row ").Append(i + 1).Append('\n');
            if (text.Length > 256 * 1024)
            {
                await log.AppendAsync(LogChannel.Stdout, text.ToString());
                text.Clear();
            }
        }

        await log.AppendAsync(LogChannel.Stdout, text.ToString());
        step.Finish(BuildResult.Success);
        await build.FinishAsync();

        var page = await NewPageAsync();
        await GotoAsync(page, $"/ci/builders/{name}/builds/{build.Number}/steps/0/logs/0#L900000");

        var line = page.Locator(".line.hl[data-line=\"900000\"]");
        await Expect(line).ToBeInViewportAsync();
        await Expect(line.Locator(".tx")).ToHaveTextAsync("row 900000");
        await Expect(page.Locator(".toolbar")).ToContainTextAsync("1,000,000 lines");

        // Server-side search jumps to a match far away.
        await page.GetByRole(AriaRole.Searchbox).FillAsync("row 123456");
        await page.GetByRole(AriaRole.Searchbox).PressAsync("Enter");
        var match = page.Locator(".line.hl[data-line=\"123456\"]");
        await Expect(match).ToBeInViewportAsync();
        await ScreenshotAsync(page, "million");
    }

    [Test]
    public async Task Overview_ServerDropsStream_ReconnectsWithLastEventIdAndShowsEveryBuild()
    {
        var name = Builds.UniqueName("drop");
        Factory.Host.AddBuilder(name);
        var page = await NewPageAsync();
        await GotoAsync(page, "/ci/");
        var strip = page.Locator($"tr[data-builder=\"{name}\"] .strip a");

        // Builds finish across several server-side closes of the stream (every 2 s) and reconnect windows.
        for (var i = 0; i < 6; i++)
        {
            await Builds.RunAsync(Factory.Host, name);
            await Task.Delay(700);
        }

        await Expect(strip).ToHaveTextAsync(["6", "5", "4", "3", "2", "1"]);
        Assert.That(Factory.StreamRequests.Where(id => id is not null), Is.Not.Empty, "no reconnect carried Last-Event-ID");
        await ScreenshotAsync(page, "after-reconnects");
    }

    [Test]
    public async Task HostileStrings_RenderAsTextOnEveryPage()
    {
        var host = Factory.Host;
        host.AddBuilder(HostileName, HostileLine, [HostileName]);
        var build = await host.StartBuildAsync(HostileName, new BuildStartInfo
        {
            Reason = HostileLine,
            SourceStamps = [new SourceStamp(HostileName, HostileLine, "\"><svg onload=alert(1)>")],
            Properties = new Dictionary<string, PropertyValue> { [HostileName] = new(HostileLine, HostileName) },
        });
        var step = build.AddStep(HostileName);
        step.Start();
        step.AddUrl(HostileName, "javascript:alert(1)");
        var log = step.AddLog(HostileLine);
        await log.AppendLineAsync(LogChannel.Stdout, HostileLine);
        await log.AppendLineAsync(LogChannel.Stderr, HostileName);
        step.Finish(BuildResult.Failure, HostileLine);
        await build.FinishAsync(stateText: HostileName);

        var dialogs = new List<string>();
        var page = await NewPageAsync(dialogs);
        var encoded = Uri.EscapeDataString(HostileName);
        foreach (var (path, label) in new[]
        {
            ("/ci/", "overview"),
            ($"/ci/builders/{encoded}", "builder"),
            ($"/ci/builders/{encoded}/builds/{build.Number}", "build"),
            ($"/ci/builders/{encoded}/builds/{build.Number}/steps/0/logs/0", "log"),
            ("/ci/grid", "grid"),
        })
        {
            await GotoAsync(page, path);
            await Expect(page.Locator("main").GetByText(label == "log" ? HostileLine : HostileName, new() { Exact = false }).First).ToBeVisibleAsync();
            await Expect(page.Locator("main img")).ToHaveCountAsync(0);
            await Expect(page.Locator("main svg[onload], main script")).ToHaveCountAsync(0);
            await Expect(page.Locator("a[href^=\"javascript:\"]")).ToHaveCountAsync(0);
            await ScreenshotAsync(page, label);
        }

        Assert.That(dialogs, Is.Empty, "a hostile string ran as script");
    }
}
