using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

// AddBuildStatus does not exist on this branch yet and BuildStatusBuilder's constructor is internal to Core, so only
// the builder-free argument checks are tested here; resolving IBuildStore after
// services.AddBuildStatus(b => b.UseSqlite(...)) is to be added when AddBuildStatus lands.
public sealed class RegistrationTests
{
    [Test]
    public void UseSqlite_NullBuilder_ThrowsArgumentNullException()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => SqliteBuildStatusBuilderExtensions.UseSqlite(null!, "Data Source=x.db"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("builder"));
            Assert.That(() => SqliteBuildStatusBuilderExtensions.UseSqlite(null!, _ => { }), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("builder"));
        });
    }
}
