using System.Net;
using BuildStatus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace BuildStatus.AspNetCore.Tests.Api;

[TestFixture]
public sealed class AuthorizationTests
{
    [Test]
    public async Task MapBuildStatus_RequireAuthorization_PolicyDecidesInsteadOfPeerAddress()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddBuildStatus(b => b.UseInMemoryStorage());
        builder.Services.AddAuthorization(o => o.AddPolicy("ci", p => p.RequireAssertion(c => true)));
        await using var app = builder.Build();
        app.UseAuthorization();
        var group = app.MapBuildStatus("/status");
        group.RequireAuthorization("ci");
        await app.StartAsync();
        using var client = app.GetTestClient();

        // The test server has no peer address, which the default rule refuses; the policy allows it.
        using var response = await client.GetAsync("/status/api/status");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await app.StopAsync();
    }

    [Test]
    public async Task MapBuildStatus_NoPolicy_RefusesRequestWithoutLoopbackPeer()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddBuildStatus(b => b.UseInMemoryStorage());
        await using var app = builder.Build();
        app.MapBuildStatus();
        await app.StartAsync();
        using var client = app.GetTestClient();

        using var response = await client.GetAsync("/ci/api/status");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        await app.StopAsync();
    }

    [TestCase("ci")]
    [TestCase("/ci/{tenant}")]
    [TestCase("/ci?x")]
    public void MapBuildStatus_BadPrefix_ThrowsArgumentException(string prefix)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Services.AddBuildStatus(b => b.UseInMemoryStorage());
        using var app = builder.Build();

        var ex = Assert.Throws<ArgumentException>(() => app.MapBuildStatus(prefix));
        Assert.That(ex!.ParamName, Is.EqualTo("prefix"));
    }

    [Test]
    public void MapBuildStatus_WithoutAddBuildStatus_ThrowsInvalidOperation()
    {
        var builder = WebApplication.CreateBuilder();
        using var app = builder.Build();

        Assert.Throws<InvalidOperationException>(() => app.MapBuildStatus());
    }

    [Test]
    public void MapBuildStatus_BadOption_ThrowsArgumentOutOfRange()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Services.AddBuildStatus(b => b.UseInMemoryStorage());
        using var app = builder.Build();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => app.MapBuildStatus("/ci", o => o.ReplayBufferCapacity = 0));
        Assert.That(ex!.ParamName, Is.EqualTo("ReplayBufferCapacity"));
    }
}
