using System.Net;
using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.AspNetCore.Tests.Support;

namespace BuildStatus.AspNetCore.Tests.Streams;

[TestFixture]
public sealed class LogFollowTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private WebFactory _factory = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _factory = new WebFactory();
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
    public async Task Follow_RunningLog_SendsStoredThenLiveLinesWithoutGapOrDuplicateThenEnd()
    {
        var (build, log) = await RunningLogAsync(100);
        await _factory.Host.FlushAsync();
        using var response = await OpenAsync(FollowPath(build, "from=50"));
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());

        var appending = Task.Run(async () =>
        {
            for (var i = 100; i < 300; i++)
            {
                await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
            }

            log.Finish();
        });
        var seen = new List<SseEvent>();
        var end = await reader.ReadUntilAsync(e => e.Type == "end", Timeout, seen);
        await appending;

        var numbers = seen.Where(e => e.Type == "lines").SelectMany(e => JsonNode.Parse(e.Data)!["lines"]!.AsArray()).Select(l => (long)l!["n"]!).ToArray();
        var texts = seen.Where(e => e.Type == "lines").SelectMany(e => JsonNode.Parse(e.Data)!["lines"]!.AsArray()).Select(l => (string?)l!["t"]).ToArray();
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(50, 250).Select(i => (long)i)));
        Assert.That(texts[^1], Is.EqualTo("line 299"));
        Assert.That((long)JsonNode.Parse(end.Data)!["lineCount"]!, Is.EqualTo(300));
        Assert.That(seen.Where(e => e.Type == "lines").Select(e => e.Id), Is.All.Not.Null);
        await build.FinishAsync();
    }

    [Test]
    public async Task Follow_LastEventId_ResumesAtThatLine()
    {
        var (build, log) = await RunningLogAsync(40);
        log.Finish();
        await build.FinishAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, FollowPath(build, "from=0"));
        request.Headers.Add("Last-Event-ID", "25");

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var seen = new List<SseEvent>();
        await reader.ReadUntilAsync(e => e.Type == "end", Timeout, seen);

        var numbers = seen.Where(e => e.Type == "lines").SelectMany(e => JsonNode.Parse(e.Data)!["lines"]!.AsArray()).Select(l => (long)l!["n"]!);
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(25, 15).Select(i => (long)i)));
    }

    [Test]
    public async Task Follow_UnknownLog_Returns404()
    {
        using var response = await _client.GetAsync("/ci/api/builders/none/builds/1/steps/0/logs/0/follow");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    private async Task<(IBuild Build, ILog Log)> RunningLogAsync(int lines)
    {
        var name = Builds.UniqueName("follow");
        _factory.Host.AddBuilder(name);
        var build = await _factory.Host.StartBuildAsync(name);
        var step = build.AddStep("run");
        step.Start();
        var log = step.AddLog("stdio");
        for (var i = 0; i < lines; i++)
        {
            await log.AppendLineAsync(LogChannel.Stdout, $"line {i}");
        }

        return (build, log);
    }

    private static string FollowPath(IBuild build, string query) => $"/ci/api/builders/{build.Builder.Name}/builds/{build.Number}/steps/0/logs/0/follow?{query}";

    private async Task<HttpResponseMessage> OpenAsync(string path)
    {
        var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return response;
    }
}
