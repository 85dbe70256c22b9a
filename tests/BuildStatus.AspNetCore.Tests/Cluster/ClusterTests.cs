using System.Net;
using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.AspNetCore.Tests.Support;

namespace BuildStatus.AspNetCore.Tests.Cluster;

/// <summary>
/// Two hosts on one SQLite file with <c>ShareEvents</c>: the web sample (named <c>web-host</c>) and a second host in
/// this process (<c>other-host</c>), started first so that the web host finds its instance when it starts.
/// </summary>
[TestFixture]
public sealed class ClusterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private WebFactory _factory = null!;
    private OtherHost _other = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _factory = new WebFactory(settings: new Dictionary<string, string>
        {
            ["host-name"] = "web-host",
            ["share-events"] = "true",
            ["BuildStatusWeb:HeartbeatInterval"] = "00:00:00.200",
        });
        _other = await OtherHost.StartAsync(_factory.Directory, "other-host");
        _client = _factory.CreateClient();
        _client.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
    }

    [OneTimeTearDown]
    public async Task TearDown()
    {
        _client?.Dispose();
        if (_other is not null)
        {
            await _other.DisposeAsync();
        }

        _factory?.Dispose();
    }

    [Test]
    public async Task GetHosts_TwoHostsOnOneHistory_ListsBothInstancesWithTheirRunningBuilds()
    {
        var remoteName = Builds.UniqueName("remote");
        var remote = await _other.Host.AddBuilder(remoteName).StartBuildAsync();
        remote.AddStep("compile").Start();
        remote.AddStep("test");
        var localName = Builds.UniqueName("local");
        var local = await _factory.Host.AddBuilder(localName).StartBuildAsync();
        local.AddStep("package").Start();
        await _other.Host.FlushAsync();

        var hosts = JsonNode.Parse(await _client.GetStringAsync("/ci/api/hosts"))!;

        var list = hosts["hosts"]!.AsArray();
        var self = list.Single(h => (bool)h!["isThisHost"]!)!;
        var other = list.Single(h => (long?)h!["instanceId"] == _other.Host.InstanceId)!;
        var remoteBuild = other["runningBuilds"]!.AsArray().Single(b => (string?)b!["builder"] == remoteName)!;
        var localBuild = self["runningBuilds"]!.AsArray().Single(b => (string?)b!["builder"] == localName)!;
        Assert.Multiple(() =>
        {
            Assert.That((string?)hosts["hostName"], Is.EqualTo("web-host"));
            Assert.That((long?)hosts["instanceId"], Is.EqualTo(_factory.Host.InstanceId));
            Assert.That((string?)hosts["lastEventId"], Is.Not.Null.And.Not.Empty);
            Assert.That((bool)hosts["truncated"]!, Is.False);
            Assert.That((string?)self["hostName"], Is.EqualTo("web-host"));
            Assert.That((long?)self["instanceId"], Is.EqualTo(_factory.Host.InstanceId));
            Assert.That((string?)other["hostName"], Is.EqualTo("other-host"));
            Assert.That((bool)other["isThisHost"]!, Is.False);
            Assert.That((DateTimeOffset?)other["heartbeatAt"], Is.Not.Null);
            Assert.That((DateTimeOffset)other["expiresAt"]!, Is.GreaterThan((DateTimeOffset)other["heartbeatAt"]!));
            Assert.That((int)remoteBuild["number"]!, Is.EqualTo(remote.Number));
            Assert.That((string?)remoteBuild["hostName"], Is.EqualTo("other-host"));
            Assert.That((string?)remoteBuild["currentStep"], Is.EqualTo("compile"));
            Assert.That((int?)remoteBuild["stepsTotal"], Is.EqualTo(2));
            Assert.That((bool)remoteBuild["finished"]!, Is.False);
            Assert.That((int)localBuild["number"]!, Is.EqualTo(local.Number));
            Assert.That((string?)localBuild["hostName"], Is.EqualTo("web-host"));
            Assert.That((string?)localBuild["currentStep"], Is.EqualTo("package"));
            Assert.That(self["runningBuilds"]!.AsArray().Any(b => (string?)b!["builder"] == remoteName), Is.False, "the other host's build is not listed as this host's");
        });

        await remote.FinishAsync(BuildResult.Success);
        await local.FinishAsync(BuildResult.Success);
    }

    [Test]
    public async Task GetBuild_AnotherHostsRunningBuild_SaysOtherHost_ThisHostsAndFinishedDoNot()
    {
        var remoteName = Builds.UniqueName("remote-detail");
        var remote = await _other.Host.AddBuilder(remoteName).StartBuildAsync();
        remote.AddStep("compile").Start();
        var localName = Builds.UniqueName("local-detail");
        var local = await _factory.Host.AddBuilder(localName).StartBuildAsync();
        await _other.Host.FlushAsync();
        await _factory.Host.FlushAsync();

        var remoteDetail = JsonNode.Parse(await _client.GetStringAsync($"/ci/api/builders/{remoteName}/builds/{remote.Number}"))!;
        var localDetail = JsonNode.Parse(await _client.GetStringAsync($"/ci/api/builders/{localName}/builds/{local.Number}"))!;
        await remote.FinishAsync(BuildResult.Success);
        var finishedDetail = JsonNode.Parse(await _client.GetStringAsync($"/ci/api/builders/{remoteName}/builds/{remote.Number}"))!;
        await local.FinishAsync(BuildResult.Success);

        Assert.Multiple(() =>
        {
            Assert.That((bool?)remoteDetail["otherHost"], Is.True, "running on the other host");
            Assert.That((string?)remoteDetail["hostName"], Is.EqualTo("other-host"));
            Assert.That(localDetail["otherHost"], Is.Null, "running here");
            Assert.That(finishedDetail["otherHost"], Is.Null, "finished: nothing to follow");
        });
    }

    [Test]
    public async Task GetHosts_FinishedBuild_IsNotListed()
    {
        var name = Builds.UniqueName("done");
        _other.Host.AddBuilder(name);
        await Builds.RunAsync(_other.Host, name);

        var hosts = JsonNode.Parse(await _client.GetStringAsync("/ci/api/hosts"))!;

        var builders = hosts["hosts"]!.AsArray().SelectMany(h => h!["runningBuilds"]!.AsArray()).Concat(hosts["otherBuilds"]!.AsArray()).Select(b => (string?)b!["builder"]);
        Assert.That(builders, Does.Not.Contain(name));
    }

    [Test]
    public async Task GetHosts_LimitOfOne_ListsOneBuildAndSaysTruncated()
    {
        var name = Builds.UniqueName("limit");
        var builder = _other.Host.AddBuilder(name);
        var first = await builder.StartBuildAsync();
        var second = await builder.StartBuildAsync();
        await _other.Host.FlushAsync();

        var hosts = JsonNode.Parse(await _client.GetStringAsync("/ci/api/hosts?limit=1"))!;

        var count = hosts["hosts"]!.AsArray().Sum(h => h!["runningBuilds"]!.AsArray().Count) + hosts["otherBuilds"]!.AsArray().Count;
        Assert.That(count, Is.EqualTo(1));
        Assert.That((bool)hosts["truncated"]!, Is.True);
        await first.FinishAsync(BuildResult.Success);
        await second.FinishAsync(BuildResult.Success);
    }

    [TestCase("limit=0")]
    [TestCase("limit=1001")]
    [TestCase("limit=many")]
    public async Task GetHosts_BadLimit_Returns400NamingIt(string query)
    {
        using var response = await _client.GetAsync($"/ci/api/hosts?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Does.Contain("'limit'"));
    }

    [Test]
    public async Task Stream_HostsAll_DeliversTheOtherHostsBuildStartedWithItsHostName_AndTheDefaultDoesNot()
    {
        var remoteName = Builds.UniqueName("remote-sse");
        var localName = Builds.UniqueName("local-sse");
        _factory.Host.AddBuilder(localName);
        var builders = $"{remoteName},{localName}";
        using var all = await OpenAsync($"/ci/api/stream?builders={builders}&kinds=buildStarted&hosts=all");
        using var mine = await OpenAsync($"/ci/api/stream?builders={builders}&kinds=buildStarted");
        using var allReader = new SseReader(await all.Content.ReadAsStreamAsync());
        using var mineReader = new SseReader(await mine.Content.ReadAsStreamAsync());
        await allReader.ReadUntilAsync(e => e.Type == "open", Timeout);
        await mineReader.ReadUntilAsync(e => e.Type == "open", Timeout);

        var remote = await _other.Host.AddBuilder(remoteName).StartBuildAsync();
        remote.AddStep("compile").Start();
        var started = await allReader.ReadUntilAsync(e => e.Type == "message", Timeout);

        // The other host's event is in the journal now; this host's build comes after it, so a stream that would get
        // both gets the other host's first.
        var local = await _factory.Host.StartBuildAsync(localName);
        var own = await mineReader.ReadUntilAsync(e => e.Type == "message", Timeout);
        var ownOnAll = await allReader.ReadUntilAsync(e => e.Type == "message", Timeout);

        var json = JsonNode.Parse(started.Data)!;
        Assert.Multiple(() =>
        {
            Assert.That(started.Id, Is.Not.Null.And.Not.Empty);
            Assert.That((string?)json["kind"], Is.EqualTo("buildStarted"));
            Assert.That((string?)json["builder"], Is.EqualTo(remoteName));
            Assert.That((int)json["number"]!, Is.EqualTo(remote.Number));
            Assert.That((string?)json["host"], Is.EqualTo("other-host"));
            Assert.That((long?)json["instanceId"], Is.EqualTo(_other.Host.InstanceId));
            Assert.That((int)json["build"]!["number"]!, Is.EqualTo(remote.Number));
            Assert.That((string?)JsonNode.Parse(own.Data)!["builder"], Is.EqualTo(localName), "the default stream gets no other host's event");
            Assert.That(JsonNode.Parse(own.Data)!["host"], Is.Null, "this host's events carry no host");
            Assert.That((string?)JsonNode.Parse(ownOnAll.Data)!["builder"], Is.EqualTo(localName));
        });

        await remote.FinishAsync(BuildResult.Success);
        await local.FinishAsync(BuildResult.Success);
    }

    [Test]
    public async Task Stream_HostsAllReconnectWithLastEventId_ResumesWithTheOtherHostsEventsMissedMeanwhile()
    {
        var name = Builds.UniqueName("remote-resume");
        var builder = _other.Host.AddBuilder(name);
        string lastId;
        using (var first = await OpenAsync($"/ci/api/stream?builders={name}&kinds=buildFinished&hosts=all"))
        using (var reader = new SseReader(await first.Content.ReadAsStreamAsync()))
        {
            await reader.ReadUntilAsync(e => e.Type == "open", Timeout);
            await (await builder.StartBuildAsync()).FinishAsync(BuildResult.Success);
            lastId = (await reader.ReadUntilAsync(e => e.Type == "message", Timeout)).Id!;
        }

        // While disconnected (within the journal's grace for other hosts' events): two more builds there.
        var second = await builder.StartBuildAsync();
        await second.FinishAsync(BuildResult.Failure);
        var third = await builder.StartBuildAsync();
        await third.FinishAsync(BuildResult.Success);

        // And one of this host's events, so that the journal moves on meanwhile (a stream that resumed from before a
        // gap in other hosts' events would have to start with a reset).
        var before = await LastEventIdAsync();
        _factory.Host.AddBuilder(Builds.UniqueName("meanwhile"));
        await WaitUntilAsync(async () => await LastEventIdAsync() != before);

        using var again = await OpenAsync($"/ci/api/stream?builders={name}&kinds=buildFinished&hosts=all", lastId);
        using var reader2 = new SseReader(await again.Content.ReadAsStreamAsync());
        var seen = new List<SseEvent>();
        await reader2.ReadUntilAsync(e => e.Type == "message" && (int)JsonNode.Parse(e.Data)!["number"]! == third.Number, Timeout, seen);

        var numbers = seen.Where(e => e.Type == "message").Select(e => (int)JsonNode.Parse(e.Data)!["number"]!);
        Assert.That(seen.Any(e => e.Type == "reset"), Is.False);
        Assert.That(numbers, Is.EqualTo(new[] { second.Number, third.Number }));
    }

    [Test]
    public async Task Stream_HostsAllAfterTheHostsSnapshot_DeliversTheOtherHostsBuildStartedInBetween()
    {
        var name = Builds.UniqueName("snapshot");
        var builder = _other.Host.AddBuilder(name);
        var snapshot = JsonNode.Parse(await _client.GetStringAsync("/ci/api/hosts"))!;
        var after = (string)snapshot["lastEventId"]!;

        // Between the snapshot and the stream: a build on the other host (its start reaches the other hosts with the
        // first batch that holds one of its rows: here its first step's), and one of this host's events.
        var build = await builder.StartBuildAsync();
        build.AddStep("compile").Start();
        _factory.Host.AddBuilder(Builds.UniqueName("between"));
        await WaitUntilAsync(async () => await LastEventIdAsync() != after);
        using var response = await OpenAsync($"/ci/api/stream?builders={name}&kinds=buildStarted&hosts=all&after={Uri.EscapeDataString(after)}");
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var started = await reader.ReadUntilAsync(e => e.Type is "message" or "reset", Timeout);

        Assert.That(started.Type, Is.EqualTo("message"), "the snapshot's id resumes the stream without a reset");
        Assert.That((int)JsonNode.Parse(started.Data)!["number"]!, Is.EqualTo(build.Number));
        await build.FinishAsync(BuildResult.Success);
    }

    [TestCase("hosts=everyone")]
    [TestCase("hosts=both")]
    [TestCase("hosts=all&hosts=this")]
    public async Task Stream_BadHosts_Returns400NamingIt(string query)
    {
        using var response = await _client.GetAsync($"/ci/api/stream?{query}", HttpCompletionOption.ResponseHeadersRead);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Does.Contain("'hosts'"));
    }

    private async Task<string> LastEventIdAsync()
        => (string)JsonNode.Parse(await _client.GetStringAsync("/ci/api/status"))!["lastEventId"]!;

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out");
            await Task.Delay(20);
        }
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
}
