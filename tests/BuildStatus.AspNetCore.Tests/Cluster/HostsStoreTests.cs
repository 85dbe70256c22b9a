using System.Text.Json.Nodes;
using BuildStatus;
using BuildStatus.Storage;
using BuildStatus.Storage.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.AspNetCore.Tests.Cluster;

/// <summary><c>api/hosts</c> on in-memory stores: one without instances, and one shared by hosts of which two share a name.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class HostsStoreTests
{
    [Test]
    public async Task GetHosts_StoreWithoutInstances_AnswersWithThisHostOnlyAndItsBuildsFromRam()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddBuildStatus(b => b.UseStore(_ => new NoInstancesStore(new InMemoryBuildStore())).Configure(o => o.HostName = "solo"));
        await using var app = builder.Build();
        app.MapBuildStatus("/ci", o => o.AllowRemoteRequests = true);
        await app.StartAsync();
        using var client = app.GetTestClient();
        var host = app.Services.GetRequiredService<IBuildStatusHost>();
        var build = await host.AddBuilder("linux").StartBuildAsync();
        build.AddStep("compile").Start();

        var hosts = JsonNode.Parse(await client.GetStringAsync("/ci/api/hosts"))!;

        var only = hosts["hosts"]!.AsArray().Single()!;
        var running = only["runningBuilds"]!.AsArray().Single()!;
        Assert.Multiple(() =>
        {
            Assert.That(host.InstanceId, Is.Null, "the store has no instances");
            Assert.That((string?)hosts["hostName"], Is.EqualTo("solo"));
            Assert.That(hosts.AsObject().ContainsKey("instanceId"), Is.False);
            Assert.That((string?)only["hostName"], Is.EqualTo("solo"));
            Assert.That((bool)only["isThisHost"]!, Is.True);
            Assert.That(only.AsObject().ContainsKey("heartbeatAt"), Is.False);
            Assert.That((int)running["number"]!, Is.EqualTo(build.Number));
            Assert.That((string?)running["currentStep"], Is.EqualTo("compile"));
            Assert.That((string?)running["hostName"], Is.EqualTo("solo"));
            Assert.That(hosts["otherBuilds"]!.AsArray(), Is.Empty);
        });
        await build.FinishAsync(BuildResult.Success);
        await app.StopAsync();
    }

    [Test]
    public async Task GetHosts_TwoLiveInstancesShareAHostName_ListsTheirBuildUnderOtherBuilds()
    {
        var store = new InMemoryBuildStore();
        var twins = new List<ServiceProvider>();
        for (var i = 0; i < 2; i++)
        {
            var provider = new ServiceCollection().AddBuildStatus(b => b.UseStore(_ => store).Configure(o => o.HostName = "twin")).BuildServiceProvider();
            await provider.GetRequiredService<IBuildStatusHost>().StartAsync();
            twins.Add(provider);
        }

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddBuildStatus(b => b.UseStore(_ => store).Configure(o => o.HostName = "web"));
        var app = builder.Build();
        app.MapBuildStatus("/ci", o => o.AllowRemoteRequests = true);
        await app.StartAsync();
        try
        {
            using var client = app.GetTestClient();
            var twin = twins[0].GetRequiredService<IBuildStatusHost>();
            var build = await twin.AddBuilder("linux").StartBuildAsync();
            build.AddStep("compile").Start();
            await twin.FlushAsync();

            var hosts = JsonNode.Parse(await client.GetStringAsync("/ci/api/hosts"))!;

            var list = hosts["hosts"]!.AsArray();
            var other = hosts["otherBuilds"]!.AsArray().Single()!;
            Assert.Multiple(() =>
            {
                Assert.That(list.Select(h => (string?)h!["hostName"]), Is.EquivalentTo(new[] { "web", "twin", "twin" }));
                Assert.That(list.SelectMany(h => h!["runningBuilds"]!.AsArray()), Is.Empty, "neither twin can be told to run it");
                Assert.That((string?)other["builder"], Is.EqualTo("linux"));
                Assert.That((int)other["number"]!, Is.EqualTo(build.Number));
                Assert.That((string?)other["hostName"], Is.EqualTo("twin"));
                Assert.That((string?)other["currentStep"], Is.EqualTo("compile"));
            });
            await build.FinishAsync(BuildResult.Success);
        }
        finally
        {
            // Every host stops before any container disposes the store they share.
            await app.StopAsync();
            foreach (var provider in twins)
            {
                await provider.GetRequiredService<IBuildStatusHost>().StopAsync();
            }

            await app.DisposeAsync();
            foreach (var provider in twins)
            {
                await provider.DisposeAsync();
            }
        }
    }

    /// <summary>An in-memory store that offers no instances, as a backend written against <see cref="IBuildStore"/> alone.</summary>
    private sealed class NoInstancesStore(IBuildStore inner) : DelegatingBuildStore(inner)
    {
        public override bool SupportsInstances => false;

        public override bool SupportsEvents => false;
    }
}
