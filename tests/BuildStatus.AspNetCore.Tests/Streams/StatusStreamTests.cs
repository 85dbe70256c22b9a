using System.Net;
using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.AspNetCore.Tests.Support;

namespace BuildStatus.AspNetCore.Tests.Streams;

[TestFixture]
public sealed class StatusStreamTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private WebFactory _factory = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _factory = new WebFactory(settings: new Dictionary<string, string> { ["BuildStatusWeb:HeartbeatInterval"] = "00:00:00.200" });
        _client = _factory.CreateClient();
        _client.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _client.Dispose();
        _factory.Dispose();
    }

    [Test]
    public async Task Stream_BuildStarted_ArrivesWithIdAndNoCacheHeaders()
    {
        var name = Builds.UniqueName("sse");
        _factory.Host.AddBuilder(name);
        using var response = await OpenAsync($"/ci/api/stream?builders={name}&kinds=buildStarted,buildFinished");
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var open = await reader.ReadUntilAsync(e => e.Type == "open", Timeout);

        var build = await Builds.RunAsync(_factory.Host, name);
        var started = await reader.ReadUntilAsync(e => e.Type == "message", Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/event-stream"));
            Assert.That(response.Headers.CacheControl!.NoCache, Is.True);
            Assert.That(open.Retry, Is.Not.Null);
            Assert.That(started.Id, Is.Not.Null.And.Not.Empty);
            var json = JsonNode.Parse(started.Data)!;
            Assert.That((string?)json["kind"], Is.EqualTo("buildStarted"));
            Assert.That((string?)json["builder"], Is.EqualTo(name));
            Assert.That((int)json["build"]!["number"]!, Is.EqualTo(build.Number));
        });
    }

    [Test]
    public async Task Stream_ReconnectWithLastEventId_ResumesWithoutLossOrDuplicate()
    {
        var name = Builds.UniqueName("resume");
        _factory.Host.AddBuilder(name);
        string lastId;
        using (var first = await OpenAsync($"/ci/api/stream?builders={name}&kinds=buildFinished"))
        using (var reader = new SseReader(await first.Content.ReadAsStreamAsync()))
        {
            await reader.ReadUntilAsync(e => e.Type == "open", Timeout);
            await Builds.RunAsync(_factory.Host, name);
            lastId = (await reader.ReadUntilAsync(e => e.Type == "message", Timeout)).Id!;
        }

        // While disconnected: three more builds.
        for (var i = 0; i < 3; i++)
        {
            await Builds.RunAsync(_factory.Host, name);
        }

        await WaitForJournalAsync(name, 4);
        using var again = await OpenAsync($"/ci/api/stream?builders={name}&kinds=buildFinished", lastId);
        using var reader2 = new SseReader(await again.Content.ReadAsStreamAsync());
        var seen = new List<SseEvent>();
        await reader2.ReadUntilAsync(e => e.Type == "message" && (int)JsonNode.Parse(e.Data)!["number"]! == 4, Timeout, seen);

        var numbers = seen.Where(e => e.Type == "message").Select(e => (int)JsonNode.Parse(e.Data)!["number"]!).ToArray();
        Assert.That(numbers, Is.EqualTo(new[] { 2, 3, 4 }));
        Assert.That(seen.Any(e => e.Type == "reset"), Is.False);
    }

    [Test]
    public async Task Stream_LastEventIdOfAnotherRun_StartsWithReset()
    {
        using var response = await OpenAsync("/ci/api/stream", "12345-7");
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());

        var reset = await reader.ReadUntilAsync(e => e.Type != "open", Timeout);

        Assert.That(reset.Type, Is.EqualTo("reset"));
        Assert.That((string?)JsonNode.Parse(reset.Data)!["kind"], Is.EqualTo("reset"));
    }

    [Test]
    public async Task Stream_Idle_SendsHeartbeatComments()
    {
        using var response = await OpenAsync($"/ci/api/stream?builders={Builds.UniqueName("idle")}");
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());

        var heartbeat = await reader.ReadUntilAsync(e => e.Type != "open", Timeout);

        Assert.That(heartbeat.Type, Is.EqualTo("comment"));
        Assert.That(heartbeat.Data, Is.EqualTo("heartbeat"));
    }

    [Test]
    public async Task Stream_LogChunks_CarryEveryLineOfTheLogInOrder()
    {
        var name = Builds.UniqueName("chunks");
        _factory.Host.AddBuilder(name);
        using var response = await OpenAsync($"/ci/api/stream?builders={name}&kinds=logChunk,buildFinished");
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        await reader.ReadUntilAsync(e => e.Type == "open", Timeout);

        await Builds.RunAsync(_factory.Host, name, lines: 30);
        var seen = new List<SseEvent>();
        await reader.ReadUntilAsync(e => e.Type == "message" && (string?)JsonNode.Parse(e.Data)!["kind"] == "buildFinished", Timeout, seen);

        var chunks = seen.Where(e => e.Type == "message").Select(e => JsonNode.Parse(e.Data)!).Where(j => (string?)j["kind"] == "logChunk").ToArray();
        var compile = chunks.Where(j => (int)j["log"]!["stepNumber"]! == 0).SelectMany(j => j["lines"]!.AsArray()).Select(l => (string?)l!["t"]);
        Assert.That(compile, Is.EqualTo(Enumerable.Range(0, 30).Select(i => $"compile line {i}")));
        Assert.That(chunks.All(j => (string?)j["builder"] == name), Is.True);
    }

    [Test]
    public async Task Stream_NoKinds_SendsEveryEventButLogChunks()
    {
        var name = Builds.UniqueName("nochunks");
        _factory.Host.AddBuilder(name);
        using var response = await OpenAsync($"/ci/api/stream?builders={name}");
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        await reader.ReadUntilAsync(e => e.Type == "open", Timeout);

        await Builds.RunAsync(_factory.Host, name, lines: 30);
        var seen = new List<SseEvent>();
        await reader.ReadUntilAsync(e => e.Type == "message" && (string?)JsonNode.Parse(e.Data)!["kind"] == "buildFinished", Timeout, seen);

        var kinds = seen.Where(e => e.Type == "message").Select(e => (string?)JsonNode.Parse(e.Data)!["kind"]).ToHashSet();
        Assert.That(kinds, Does.Not.Contain("logChunk"));
        Assert.That(kinds, Is.SupersetOf(new[] { "buildStarted", "stepStarted", "logStarted", "logFinished", "stepFinished", "buildFinished" }));
    }

    [Test]
    public async Task Stream_LogChunksReconnectWithLastEventId_ResumesWithEveryLine()
    {
        var name = Builds.UniqueName("chunkresume");
        _factory.Host.AddBuilder(name);
        string lastId;
        using (var first = await OpenAsync($"/ci/api/stream?builders={name}&kinds=logChunk,buildFinished"))
        using (var reader = new SseReader(await first.Content.ReadAsStreamAsync()))
        {
            await reader.ReadUntilAsync(e => e.Type == "open", Timeout);
            await Builds.RunAsync(_factory.Host, name, lines: 5);
            lastId = (await reader.ReadUntilAsync(e => e.Type == "message" && (string?)JsonNode.Parse(e.Data)!["kind"] == "buildFinished", Timeout)).Id!;
        }

        // While disconnected (within the journal's grace for log chunks): a build with 40 lines per log.
        var build = await Builds.RunAsync(_factory.Host, name, lines: 40);
        using var again = await OpenAsync($"/ci/api/stream?builders={name}&kinds=logChunk,buildFinished", lastId);
        using var reader2 = new SseReader(await again.Content.ReadAsStreamAsync());
        var seen = new List<SseEvent>();
        await reader2.ReadUntilAsync(e => e.Type == "message" && (string?)JsonNode.Parse(e.Data)!["kind"] == "buildFinished", Timeout, seen);

        var compile = seen.Where(e => e.Type == "message").Select(e => JsonNode.Parse(e.Data)!)
            .Where(j => (string?)j["kind"] == "logChunk" && (int)j["number"]! == build.Number && (int)j["log"]!["stepNumber"]! == 0)
            .SelectMany(j => j["lines"]!.AsArray()).Select(l => (string?)l!["t"]);
        Assert.That(seen.Any(e => e.Type == "reset"), Is.False);
        Assert.That(compile, Is.EqualTo(Enumerable.Range(0, 40).Select(i => $"compile line {i}")));
    }

    [TestCase("kinds=buildExploded")]
    [TestCase("build=3")]
    [TestCase("build=x&builders=a")]
    public async Task Stream_BadQuery_Returns400(string query)
    {
        using var response = await _client.GetAsync($"/ci/api/stream?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task Stream_BuildFilter_SendsOnlyThatBuild()
    {
        var name = Builds.UniqueName("onebuild");
        _factory.Host.AddBuilder(name);
        await Builds.RunAsync(_factory.Host, name);
        using var response = await OpenAsync($"/ci/api/stream?builders={name}&build=3&kinds=buildStarted");
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        await reader.ReadUntilAsync(e => e.Type == "open", Timeout);

        await Builds.RunAsync(_factory.Host, name);
        await Builds.RunAsync(_factory.Host, name);
        var started = await reader.ReadUntilAsync(e => e.Type == "message", Timeout);

        Assert.That((int)JsonNode.Parse(started.Data)!["number"]!, Is.EqualTo(3));
    }

    private async Task<HttpResponseMessage> OpenAsync(string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return response;
    }

    // Events reach the journal on Core's delivery thread: wait until the build's finish is in it, by reading the
    // journal from its start (a stream from there delivers that event as soon as it is there).
    private async Task WaitForJournalAsync(string name, int number)
    {
        var lastId = (string)JsonNode.Parse(await _client.GetStringAsync("/ci/api/status"))!["lastEventId"]!;
        using var replay = await OpenAsync($"/ci/api/stream?builders={name}&build={number}&kinds=buildFinished&after={Uri.EscapeDataString(FirstId(lastId))}");
        using var reader = new SseReader(await replay.Content.ReadAsStreamAsync());
        await reader.ReadUntilAsync(e => e.Type == "message", Timeout);
    }

    private static string FirstId(string lastId) => string.Concat(lastId.AsSpan(0, lastId.IndexOf('-', StringComparison.Ordinal)), "-0");
}
