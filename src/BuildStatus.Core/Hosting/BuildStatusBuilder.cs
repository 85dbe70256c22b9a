using BuildStatus.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace BuildStatus;

/// <summary>Configures BuildStatus inside <c>services.AddBuildStatus(b => ...)</c>: the storage backend and options.</summary>
public sealed class BuildStatusBuilder
{
    internal BuildStatusBuilder(IServiceCollection services)
    {
        Services = services;
    }

    /// <summary>Gets the service collection, for backend packages that register their own services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Uses a storage backend made by <paramref name="factory"/>. The last backend chosen wins. Backend packages
    /// wrap this in their own <c>UseXxx</c> extension.
    /// </summary>
    /// <param name="factory">Creates the store from the service provider; called once. When it throws
    /// <see cref="OptionsValidationException"/> (the backend's options are invalid), that exception is what the host's
    /// start throws, like every other invalid option, instead of an error while services are resolved.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is <see langword="null"/>.</exception>
    public BuildStatusBuilder UseStore(Func<IServiceProvider, IBuildStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<IBuildStore>();
        Services.AddSingleton<IBuildStore>(services =>
        {
            try
            {
                return factory(services);
            }
            catch (OptionsValidationException invalid)
            {
                return new Hosting.UnusableStore(invalid);
            }
        });
        return this;
    }

    /// <summary>Uses the in-memory store: complete, fast, and gone when the process ends. For tests and ephemeral hosts.</summary>
    /// <returns>This builder.</returns>
    public BuildStatusBuilder UseInMemoryStorage() => UseStore(_ => new InMemoryBuildStore());

    /// <summary>Configures the options.</summary>
    /// <param name="configure">Changes the options.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is <see langword="null"/>.</exception>
    public BuildStatusBuilder Configure(Action<BuildStatusOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }
}
