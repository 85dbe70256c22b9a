using BuildStatus;
using BuildStatus.Hosting;
using BuildStatus.Process;
using BuildStatus.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers BuildStatus in a service collection.</summary>
public static class BuildStatusServiceCollectionExtensions
{
    /// <summary>
    /// Registers the BuildStatus host (<see cref="IBuildStatusHost"/>, also as <see cref="IStatus"/>,
    /// <see cref="IBuildHistory"/> and <see cref="IStatusAdapter"/>), its hosted service, its health check and
    /// its options. Calling it again is harmless: registrations are added once, and the new configuration is
    /// applied on top (the last storage backend chosen wins).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Chooses the storage backend and sets options.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    /// <example>
    /// <code>
    /// services.AddBuildStatus(b => b.UseInMemoryStorage().Configure(o => o.HostName = "ci-1"));
    /// </code>
    /// </example>
    public static IServiceCollection AddBuildStatus(this IServiceCollection services, Action<BuildStatusBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<BuildStatusOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BuildStatusOptions>, BuildStatusOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<BuildStatusHost>(sp => new BuildStatusHost(
            sp.GetRequiredService<IOptions<BuildStatusOptions>>(),
            sp.GetServices<IBuildStore>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<Logging.ILoggerFactory>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<IBuildStatusHost>(sp => sp.GetRequiredService<BuildStatusHost>());
        services.TryAddSingleton<IStatus>(sp => sp.GetRequiredService<BuildStatusHost>());
        services.TryAddSingleton<IBuildHistory>(sp => sp.GetRequiredService<BuildStatusHost>().History);
        services.TryAddSingleton<IStatusAdapter>(sp => sp.GetRequiredService<BuildStatusHost>().Adapter);
        services.TryAddSingleton<BuildStatusHealthCheck>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BuildStatusHostedService>());
        configure?.Invoke(new BuildStatusBuilder(services));
        return services;
    }
}
