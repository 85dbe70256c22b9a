using System.Net;
using System.Text.Json.Nodes;
using BuildStatus.AspNetCore.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace BuildStatus.AspNetCore.Tests.Internal;

[TestFixture]
public sealed class GroupFilterTests
{
    [Test]
    public async Task InvokeAsync_HandlerThrows_Returns500WithoutExceptionDetails()
    {
        await using var provider = new ServiceCollection().AddLogging().BuildServiceProvider();
        var web = new WebContext(null!, new BuildStatusWebOptions(), null!, null!, TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        var filter = new GroupFilter(web);
        var http = new DefaultHttpContext { RequestServices = provider };
        http.Connection.RemoteIpAddress = IPAddress.Loopback;
        http.Response.Body = new MemoryStream();

        var result = await filter.InvokeAsync(
            new DefaultEndpointFilterInvocationContext(http),
            _ => throw new InvalidOperationException("secret detail at C:\\src\\Thing.cs:line 42"));
        await ((IResult)result!).ExecuteAsync(http);

        http.Response.Body.Position = 0;
        var body = await new StreamReader(http.Response.Body).ReadToEndAsync();
        Assert.That(http.Response.StatusCode, Is.EqualTo(500));
        Assert.That(body, Does.Not.Contain("secret").And.Not.Contain("line 42").And.Not.Contain("InvalidOperationException"));
        Assert.That((string?)JsonNode.Parse(body)!["error"], Is.Not.Empty);
    }

    [TestCase("127.0.0.1", true)]
    [TestCase("::1", true)]
    [TestCase("::ffff:127.0.0.1", true)]
    [TestCase("10.0.0.5", false)]
    [TestCase("203.0.113.9", false)]
    public void IsLocal_PeerAddress_IsLoopbackOnly(string address, bool expected)
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(address);

        Assert.That(GroupFilter.IsLocal(http.Connection), Is.EqualTo(expected));
    }
}
