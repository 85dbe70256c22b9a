using BuildStatus.Core.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace BuildStatus.Core.Tests.Hosting;

[TestFixture]
public sealed class HostingTests
{
    [Test]
    public void AddBuildStatus_Twice_RegistersOnce()
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseInMemoryStorage());
        services.AddBuildStatus(b => b.UseInMemoryStorage());

        Assert.That(services.Count(d => d.ServiceType == typeof(IHostedService)), Is.EqualTo(1));
        Assert.That(services.Count(d => d.ServiceType == typeof(IBuildStatusHost)), Is.EqualTo(1));
        Assert.That(services.Count(d => d.ServiceType == typeof(BuildStatus.Storage.IBuildStore)), Is.EqualTo(1));
        using var provider = services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<IStatus>(), Is.SameAs(provider.GetRequiredService<IBuildStatusHost>()));
    }

    [Test]
    public async Task StartAsync_WithoutStorage_FailsWithClearMessage()
    {
        var services = new ServiceCollection();
        services.AddBuildStatus();
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<IBuildStatusHost>();

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.That(ex!.Message, Does.Contain("No BuildStatus storage backend is configured").And.Contain("UseInMemoryStorage"));
    }

    [Test]
    public async Task StartAsync_InvalidOptions_ThrowsOptionsValidationNamingTheOption()
    {
        var services = new ServiceCollection();
        services.AddBuildStatus(b => b.UseInMemoryStorage().Configure(o => { o.MaxQueueBytes = 10; o.HostName = ""; }));
        await using var provider = services.BuildServiceProvider();

        // Resolving the host is fine (as it is for invalid backend options); its start is what throws, as documented.
        var host = provider.GetRequiredService<IBuildStatusHost>();
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(ex!.Failures, Has.Some.Contains("MaxQueueBytes").And.Some.Contains("HostName"));
        Assert.That(host.IsRunning, Is.False);
    }

    [Test]
    public async Task GenericHost_StartsAndStopsTheService()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddBuildStatus(b => b.UseInMemoryStorage().Configure(o => o.HostName = "generic"));
        using var app = builder.Build();

        await app.StartAsync();
        var status = app.Services.GetRequiredService<IBuildStatusHost>();
        Assert.That(status.IsRunning, Is.True);
        var build = await status.AddBuilder("b").StartBuildAsync();
        await build.FinishAsync(BuildResult.Success);
        await app.StopAsync();

        Assert.That(status.IsRunning, Is.False);
        Assert.That((await status.History.GetBuildAsync("b", 1))!.HostName, Is.EqualTo("generic"));
    }

    [Test]
    public async Task DisposeAsync_ThenUse_ThrowsObjectDisposed()
    {
        var t = await TestHost.StartAsync();
        var host = t.Host;
        await t.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => host.AddBuilder("late"));
        Assert.ThrowsAsync<ObjectDisposedException>(() => host.StartAsync());
    }
}
