using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using BuildStatus.AspNetCore.Internal;
using BuildStatus.AspNetCore.Tests.Support;

namespace BuildStatus.AspNetCore.Tests.Api;

[TestFixture]
public sealed partial class PageAssetTests
{
    private WebFactory _factory = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _factory = new WebFactory();
        _client = _factory.CreateClient();
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _client.Dispose();
        _factory.Dispose();
    }

    [TestCase("/ci/")]
    [TestCase("/ci/builders/linux/builds/12/steps/0/logs/0")]
    [TestCase("/ci/grid")]
    public async Task Page_AnyPagePath_ServesTheShellWithCspAndNoCache(string path)
    {
        using var response = await _client.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/html"));
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.StartWith("default-src 'self'"));
            Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"));
            Assert.That(response.Headers.CacheControl!.NoCache, Is.True);
            Assert.That(html, Does.Contain("content=\"/ci\""));
            Assert.That(html, Does.Not.Contain("<script>"), "no inline script: the CSP forbids it");
            Assert.That(AssetPattern().Matches(html).Count, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Asset_HashedName_IsImmutableWithETagAndAnswers304()
    {
        var html = await _client.GetStringAsync("/ci/");
        var script = AssetPattern().Matches(html).Select(m => m.Value).Single(v => v.EndsWith(".js", StringComparison.Ordinal));

        using var first = await _client.GetAsync(script);
        var request = new HttpRequestMessage(HttpMethod.Get, script);
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await _client.SendAsync(request);

        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(first.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/javascript"));
            Assert.That(first.Headers.CacheControl!.MaxAge, Is.EqualTo(TimeSpan.FromDays(365)));
            Assert.That(first.Headers.CacheControl.Extensions.Select(e => e.Name), Does.Contain("immutable"));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.NotModified));
        });
    }

    [Test]
    public async Task Asset_UnhashedOrUnknownName_Returns404()
    {
        using var plain = await _client.GetAsync("/ci/assets/app.js");
        using var unknown = await _client.GetAsync("/ci/assets/evil.0123456789ab.js");

        Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public void Assets_PageFiles_WeighUnder300KB()
    {
        var assets = new StaticAssets("BuildStatus");

        Assert.That(assets.TotalBytes, Is.LessThan(300 * 1024));
    }

    [Test]
    public async Task Page_TitleOption_IsHtmlEncoded()
    {
        using var factory = new WebFactory(settings: new Dictionary<string, string> { ["BuildStatusWeb:Title"] = "<b>CI & co</b>" });
        using var client = factory.CreateClient();

        var html = await client.GetStringAsync("/ci/");

        Assert.That(html, Does.Contain("&lt;b&gt;CI &amp; co&lt;/b&gt;"));
        Assert.That(html, Does.Not.Contain("<b>CI"));
    }

    [GeneratedRegex(@"/ci/assets/[a-z]+\.[0-9a-f]{12}\.(js|css|svg)")]
    private static partial Regex AssetPattern();
}
