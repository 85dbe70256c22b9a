using System.Net;
using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.AspNetCore.Tests.Support;

namespace BuildStatus.AspNetCore.Tests.Api;

[TestFixture]
public sealed class ApiTests
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

    [Test]
    public async Task GetStatus_RunningBuild_ShowsCurrentStepProgressAndRecentResults()
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("status");
        host.AddBuilder(name, "desc", ["t1"]);
        await Builds.RunAsync(host, name, BuildResult.Failure);
        await Builds.RunAsync(host, name, BuildResult.Success);
        var running = await host.StartBuildAsync(name);
        running.AddStep("first").Start();
        running.AddStep("second");

        var status = await GetJsonAsync("/ci/api/status");

        Assert.That((string?)status["lastEventId"], Is.Not.Null.And.Not.Empty);
        var builder = status["builders"]!.AsArray().Single(b => (string?)b!["name"] == name)!;
        Assert.That((string?)builder["state"], Is.EqualTo("building"));
        var current = builder["currentBuilds"]!.AsArray().Single()!;
        Assert.Multiple(() =>
        {
            Assert.That((int)current["number"]!, Is.EqualTo(running.Number));
            Assert.That((string?)current["currentStep"], Is.EqualTo("first"));
            Assert.That((int)current["stepsTotal"]!, Is.EqualTo(2));
            Assert.That((int)current["stepsDone"]!, Is.EqualTo(0));
            Assert.That((bool)current["finished"]!, Is.False);
            Assert.That(builder["recentBuilds"]!.AsArray().Select(b => (string?)b!["result"]), Is.EqualTo(new[] { "success", "failure" }), "newest first");
        });
        await running.FinishAsync(BuildResult.Cancelled);
    }

    [Test]
    public async Task GetBuilds_Paging_ReturnsNewestFirstWithNextBefore()
    {
        var name = await BuilderWithBuildsAsync(5);

        var first = await GetJsonAsync($"/ci/api/builders/{name}/builds?limit=2");
        var numbers = first["builds"]!.AsArray().Select(b => (int)b!["number"]!).ToArray();
        var next = (int)first["nextBefore"]!;
        var second = await GetJsonAsync($"/ci/api/builders/{name}/builds?limit=2&before={next}");

        Assert.That(numbers, Is.EqualTo(new[] { 5, 4 }));
        Assert.That(second["builds"]!.AsArray().Select(b => (int)b!["number"]!), Is.EqualTo(new[] { 3, 2 }));
    }

    [Test]
    public async Task GetBuilds_ResultAndBranchFilters_ReturnOnlyMatchingBuilds()
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("filter");
        host.AddBuilder(name);
        await Builds.RunAsync(host, name, BuildResult.Success, branch: "main");
        await Builds.RunAsync(host, name, BuildResult.Failure, branch: "main");
        await Builds.RunAsync(host, name, BuildResult.Failure, branch: "dev");

        var failures = await GetJsonAsync($"/ci/api/builders/{name}/builds?result=failure,exception&branch=main");

        var builds = failures["builds"]!.AsArray();
        Assert.That(builds.Select(b => (int)b!["number"]!), Is.EqualTo(new[] { 2 }));
        Assert.That((string?)builds[0]!["branch"], Is.EqualTo("main"));
    }

    [TestCase("limit=0", "'limit'")]
    [TestCase("limit=1001", "'limit'")]
    [TestCase("limit=abc", "'limit'")]
    [TestCase("before=-1", "'before'")]
    [TestCase("result=green", "'result'")]
    [TestCase("finished=maybe", "'finished'")]
    [TestCase("startedAfter=yesterday", "'startedAfter'")]
    [TestCase("propertyValue=x", "PropertyValue")]
    public async Task GetBuilds_BadQuery_Returns400NamingTheParameter(string query, string named)
    {
        var name = await BuilderWithBuildsAsync(1);

        using var response = await _client.GetAsync($"/ci/api/builders/{name}/builds?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var error = (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"];
        Assert.That(error, Does.Contain(named));
    }

    [Test]
    public async Task GetBuilds_UnknownBuilder_Returns404()
    {
        using var response = await _client.GetAsync("/ci/api/builders/no-such-builder/builds");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task GetGrid_SeveralBuilders_ReturnsNewestFirstAcrossBuildersInOneCall()
    {
        var host = _factory.Host;
        var a = Builds.UniqueName("grid-a");
        var b = Builds.UniqueName("grid-b");
        host.AddBuilder(a);
        host.AddBuilder(b);
        await Builds.RunAsync(host, a);
        await Builds.RunAsync(host, b);
        await Builds.RunAsync(host, a);

        var grid = await GetJsonAsync($"/ci/api/builds?builders={a},{b}&limit=10");

        var order = grid["builds"]!.AsArray().Select(x => $"{(string?)x!["builder"]}#{(int)x["number"]!}").ToArray();
        Assert.That(order, Is.EqualTo(new[] { $"{a}#2", $"{b}#1", $"{a}#1" }));
        Assert.That((string?)grid["lastEventId"], Is.Not.Empty);
    }

    [Test]
    public async Task GetBuild_FinishedBuild_HasStepsLogsUrlsStatisticsPropertiesAndSourceStamps()
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("detail");
        host.AddBuilder(name);
        var build = await Builds.RunAsync(host, name, BuildResult.Warnings, lines: 4);

        var detail = await GetJsonAsync($"/ci/api/builders/{name}/builds/{build.Number}");

        var steps = detail["steps"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That((string?)detail["summary"]!["result"], Is.EqualTo("warnings"));
            Assert.That(steps.Select(s => (string?)s!["name"]), Is.EqualTo(new[] { "compile", "test" }));
            Assert.That((string?)steps[1]!["result"], Is.EqualTo("warnings"));
            Assert.That((string?)steps[0]!["urls"]![0]!["url"], Is.EqualTo("https://example.org/report"));
            Assert.That((double)steps[0]!["statistics"]!["lines"]!, Is.EqualTo(4));
            Assert.That((long)steps[0]!["logs"]![0]!["lineCount"]!, Is.EqualTo(4));
            Assert.That((string?)detail["properties"]!.AsArray().Single(p => (string?)p!["name"] == "os")!["value"], Is.EqualTo("linux"));
            Assert.That((string?)detail["sourceStamps"]![0]!["branch"], Is.EqualTo("main"));
        });
    }

    [Test]
    public async Task GetBuild_UnknownOrBadNumber_Returns404Or400()
    {
        var name = await BuilderWithBuildsAsync(1);

        using var missing = await _client.GetAsync($"/ci/api/builders/{name}/builds/99");
        using var bad = await _client.GetAsync($"/ci/api/builders/{name}/builds/x1");

        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task GetLogLines_Range_ReturnsThoseLinesWithNumbersAndChannels()
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("lines");
        host.AddBuilder(name);
        var build = await Builds.RunAsync(host, name, lines: 50);

        var page = await GetJsonAsync($"/ci/api/builders/{name}/builds/{build.Number}/steps/0/logs/0/lines?from=10&count=3");

        var lines = page["lines"]!.AsArray();
        Assert.That(lines.Select(l => (long)l!["n"]!), Is.EqualTo(new long[] { 10, 11, 12 }));
        Assert.That(lines.Select(l => (string?)l!["c"]), Is.EqualTo(new[] { "o", "e", "o" }));
        Assert.That((string?)lines[0]!["t"], Is.EqualTo("compile line 10"));
        Assert.That((long)page["log"]!["lineCount"]!, Is.EqualTo(50));
    }

    [TestCase("count=5001")]
    [TestCase("count=0")]
    [TestCase("from=-5")]
    public async Task GetLogLines_BadRange_Returns400(string query)
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("badrange");
        host.AddBuilder(name);
        var build = await Builds.RunAsync(host, name);

        using var response = await _client.GetAsync($"/ci/api/builders/{name}/builds/{build.Number}/steps/0/logs/0/lines?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task GetRawLog_StoredLog_StreamsEveryLineAsText()
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("raw");
        host.AddBuilder(name);
        var build = await Builds.RunAsync(host, name, lines: 2500);

        using var response = await _client.GetAsync($"/ci/api/builders/{name}/builds/{build.Number}/steps/1/logs/0/raw");
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/plain"));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2500));
        Assert.That(lines[2499], Is.EqualTo("test line 2499"));
    }

    [Test]
    public async Task SearchLog_Text_ReturnsMatchingLineNumbers()
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("search");
        host.AddBuilder(name);
        var build = await Builds.RunAsync(host, name, lines: 300);

        var result = await GetJsonAsync($"/ci/api/builders/{name}/builds/{build.Number}/steps/0/logs/0/search?q=LINE%2025");

        // "line 25" and "line 250".."line 259", case-insensitive.
        Assert.That(result["matches"]!.AsArray().Select(m => (long)m!["n"]!), Is.EqualTo(new long[] { 25, 250, 251, 252, 253, 254, 255, 256, 257, 258, 259 }));
        Assert.That((bool)result["done"]!, Is.True);
    }

    [Test]
    public async Task GetWorkersAndRequests_LiveObjects_AreListed()
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("req");
        var builder = host.AddBuilder(name);
        var worker = host.AddWorker(Builds.UniqueName("worker"));
        worker.Connect("box1");
        var request = builder.SubmitRequest("nightly");

        var workers = await GetJsonAsync("/ci/api/workers");
        var requests = await GetJsonAsync("/ci/api/requests");

        var w = workers.AsArray().Single(x => (string?)x!["name"] == worker.Name)!;
        Assert.That((bool)w["connected"]!, Is.True);
        Assert.That((string?)w["host"], Is.EqualTo("box1"));
        var r = requests.AsArray().Single(x => (string?)x!["builder"] == name)!;
        Assert.That((string?)r["reason"], Is.EqualTo("nightly"));
        request.Cancel();
    }

    [Test]
    public async Task AnyRoute_RemotePeer_Returns403()
    {
        using var factory = new WebFactory { RemoteAddress = IPAddress.Parse("203.0.113.7") };
        using var client = factory.CreateClient();

        using var api = await client.GetAsync("/ci/api/status");
        using var page = await client.GetAsync("/ci/");

        Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task AnyRoute_RemotePeerWithAllowRemoteRequests_IsServed()
    {
        using var factory = new WebFactory(settings: new Dictionary<string, string> { ["BuildStatusWeb:AllowRemoteRequests"] = "true" })
        {
            RemoteAddress = IPAddress.Parse("203.0.113.7"),
        };
        using var client = factory.CreateClient();

        using var api = await client.GetAsync("/ci/api/status");

        Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task UnknownApiRoute_Returns404Json()
    {
        using var response = await _client.GetAsync("/ci/api/nothing/here");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
    }

    private async Task<string> BuilderWithBuildsAsync(int count)
    {
        var host = _factory.Host;
        var name = Builds.UniqueName("builds");
        host.AddBuilder(name);
        for (var i = 0; i < count; i++)
        {
            await Builds.RunAsync(host, name);
        }

        return name;
    }

    private async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await _client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
        return JsonNode.Parse(body)!;
    }
}
