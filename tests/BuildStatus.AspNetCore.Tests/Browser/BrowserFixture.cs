using BuildStatus.AspNetCore.Tests.Support;
using Microsoft.Playwright;

namespace BuildStatus.AspNetCore.Tests.Browser;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright's bundled driver, against the web sample on Kestrel at
/// 127.0.0.1 (a free port). Streams are closed by the server every two seconds, so every test also runs through
/// the browser's Last-Event-ID reconnects.
/// </summary>
public abstract class BrowserFixture
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    protected WebFactory Factory { get; private set; } = null!;

    protected Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets settings of the web sample that a fixture adds (such as <c>share-events</c>).</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

    /// <summary>Runs after the factory is made and before its server starts (a fixture may start another host on its file).</summary>
    protected virtual Task BeforeServerStartsAsync(WebFactory factory) => Task.CompletedTask;

    [OneTimeSetUp]
    public async Task StartBrowserAsync()
    {
        // Needs Debian's Chromium; .ci/run installs it. Outside CI, a machine with only the .NET SDK skips these tests.
        if (!File.Exists("/usr/bin/chromium"))
        {
            const string Missing = "Debian's Chromium (/usr/bin/chromium) is not installed: apt-get install -y chromium (.ci/run does).";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(Missing);
            }

            Assert.Ignore(Missing);
        }

        var settings = new Dictionary<string, string>
        {
            ["BuildStatusWeb:MaxStreamDuration"] = "00:00:02",
            ["BuildStatusWeb:ReconnectDelay"] = "00:00:00.200",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        Factory = new WebFactory(kestrel: true, settings: settings);
        await BeforeServerStartsAsync(Factory);
        BaseAddress = Factory.ServerAddress;
        Microsoft.Playwright.Assertions.SetDefaultExpectTimeout((float)Timeout.TotalMilliseconds);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    [OneTimeTearDown]
    public async Task StopBrowserAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        Factory?.Dispose();
    }

    /// <summary>A fresh page; every dialog it opens (an executed alert) is recorded in <paramref name="dialogs"/>.</summary>
    protected async Task<IPage> NewPageAsync(List<string>? dialogs = null)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        context.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        var page = await context.NewPageAsync();
        page.Dialog += async (_, dialog) =>
        {
            dialogs?.Add(dialog.Message);
            await dialog.DismissAsync();
        };
        return page;
    }

    /// <summary>Opens a page path and waits until its view has loaded.</summary>
    protected static async Task GotoAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        await page.Locator("main[data-ready]").WaitForAsync();
    }

    /// <summary>Saves a screenshot as a test artifact.</summary>
    protected static async Task ScreenshotAsync(IPage page, string name)
    {
        var directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"{TestContext.CurrentContext.Test.MethodName}-{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file });
        TestContext.AddTestAttachment(file, name);
    }
}
