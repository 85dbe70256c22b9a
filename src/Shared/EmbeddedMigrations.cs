using System.Globalization;
using System.Reflection;

// Compiled into each storage backend (linked from src/Shared), in the backend's own namespace.
#if BUILDSTATUS_POSTGRES
namespace BuildStatus.Storage.Postgres.Internal;
#else
namespace BuildStatus.Storage.Sqlite.Internal;
#endif

/// <summary>The versioned schema scripts a backend embeds (<c>Migrations/NNNN_name.sql</c>).</summary>
internal static class EmbeddedMigrations
{
    /// <summary>Loads the scripts embedded in <paramref name="assembly"/> under <paramref name="resourcePrefix"/>, in version order.</summary>
    /// <exception cref="InvalidOperationException">The versions are not 1, 2, 3, ... without gaps.</exception>
    public static IReadOnlyList<Migration> Load(Assembly assembly, string resourcePrefix)
    {
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(resourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[resourcePrefix.Length..^".sql".Length];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), NumberStyles.None, CultureInfo.InvariantCulture);
            migrations.Add(new Migration(version, name, ReadResource(assembly, resource)));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"Migration scripts must be numbered 1, 2, 3, ... without gaps; found {migrations[i].Name} at position {i + 1}.");
            }
        }

        return migrations;
    }

    private static string ReadResource(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>One embedded script.</summary>
    /// <param name="Version">The schema version it produces.</param>
    /// <param name="Name">The file name without extension.</param>
    /// <param name="Sql">The statements.</param>
    internal sealed record Migration(int Version, string Name, string Sql);
}
