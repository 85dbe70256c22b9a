using System.IO.Compression;
using BuildStatus.Storage.Sqlite.Internal;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class OptionsTests
{
    [Test]
    public void Defaults_AreTheDocumentedOnes()
    {
        var options = new SqliteStorageOptions();

        Assert.Multiple(() =>
        {
            Assert.That(options.ConnectionString, Is.Null);
            Assert.That(options.Synchronous, Is.EqualTo(SqliteSynchronous.Normal));
            Assert.That(options.BusyTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(options.Compression, Is.EqualTo(LogCompression.Brotli));
            Assert.That(options.CompressionLevel, Is.EqualTo(CompressionLevel.Fastest));
            Assert.That(options.CacheSizeKiB, Is.EqualTo(8192));
            Assert.That(options.MmapSizeBytes, Is.Zero);
            Assert.That(options.VacuumAfterPrune, Is.True);
        });
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    public void Validate_MissingConnectionString_ThrowsNamingIt(string? connectionString)
    {
        var options = new SqliteStorageOptions { ConnectionString = connectionString };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Multiple(() =>
        {
            Assert.That(error!.ParamName, Is.EqualTo(nameof(SqliteStorageOptions.ConnectionString)));
            Assert.That(error.Message, Does.Contain("ConnectionString is required").And.Contain("Data Source="));
        });
    }

    [TestCase("Data Source=:memory:")]
    [TestCase("Data Source=x.db;Mode=Memory")]
    [TestCase("Cache=Shared")]
    public void Validate_NoDatabaseFile_ThrowsExplaining(string connectionString)
    {
        var options = new SqliteStorageOptions { ConnectionString = connectionString };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.That(error!.Message, Does.Contain("must name a database file"));
    }

    [Test]
    public void Validate_ReadOnlyMode_Throws()
    {
        var options = new SqliteStorageOptions { ConnectionString = "Data Source=x.db;Mode=ReadOnly" };

        Assert.That(options.Validate, Throws.ArgumentException.With.Message.Contains("ReadOnly"));
    }

    [Test]
    public void Validate_UnparsableConnectionString_Throws()
    {
        var options = new SqliteStorageOptions { ConnectionString = "Data Source=x.db;Bogus Keyword=1" };

        Assert.That(options.Validate, Throws.ArgumentException.With.Message.Contains("cannot be parsed").And.Property("ParamName").EqualTo("ConnectionString"));
    }

    [Test]
    public void Validate_OutOfRangeValues_ThrowNamingTheProperty()
    {
        static SqliteStorageOptions Valid() => new() { ConnectionString = "Data Source=x.db" };

        Assert.Multiple(() =>
        {
            Assert.That(() => With(Valid(), o => o.BusyTimeout = TimeSpan.FromSeconds(-1)).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("BusyTimeout"));
            Assert.That(() => With(Valid(), o => o.Synchronous = (SqliteSynchronous)9).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("Synchronous"));
            Assert.That(() => With(Valid(), o => o.Compression = (LogCompression)9).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("Compression"));
            Assert.That(() => With(Valid(), o => o.CompressionLevel = (CompressionLevel)9).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("CompressionLevel"));
            Assert.That(() => With(Valid(), o => o.CacheSizeKiB = -1).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("CacheSizeKiB"));
            Assert.That(() => With(Valid(), o => o.MmapSizeBytes = -1).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("MmapSizeBytes"));
            Assert.That(() => Valid().Validate(), Throws.Nothing);
        });
    }

    [Test]
    public void Constructor_NullOrInvalidOptions_Throws()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new SqliteBuildStore(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => new SqliteBuildStore(new SqliteStorageOptions()), Throws.ArgumentException.With.Property("ParamName").EqualTo("ConnectionString"));
        });
    }

    [TestCase(SqliteSynchronous.Off, 0)]
    [TestCase(SqliteSynchronous.Normal, 1)]
    [TestCase(SqliteSynchronous.Full, 2)]
    [TestCase(SqliteSynchronous.Extra, 3)]
    public async Task Connections_Synchronous_IsAppliedToEveryConnection(SqliteSynchronous synchronous, long expected)
    {
        await using var test = new TestStore();
        var factory = new SqliteConnectionFactory(new SqliteStorageOptions
        {
            ConnectionString = test.ConnectionString,
            Synchronous = synchronous,
            BusyTimeout = TimeSpan.FromMilliseconds(1234),
            CacheSizeKiB = 4096,
        });
        using var writer = factory.OpenWriter();
        using var reader = factory.OpenReader();

        Assert.Multiple(() =>
        {
            foreach (var connection in new[] { writer, reader })
            {
                Assert.That(TestData.Scalar(connection, "PRAGMA synchronous"), Is.EqualTo(expected));
                Assert.That(TestData.Scalar(connection, "PRAGMA busy_timeout"), Is.EqualTo(1234));
                Assert.That(TestData.Scalar(connection, "PRAGMA foreign_keys"), Is.EqualTo(1));
                Assert.That(TestData.Scalar(connection, "PRAGMA cache_size"), Is.EqualTo(-4096));
            }
        });
        Microsoft.Data.Sqlite.SqliteConnection.ClearPool(reader);
    }

    [Test]
    public async Task Store_OptionsChangedAfterConstruction_AreIgnored()
    {
        await using var test = new TestStore();
        var options = new SqliteStorageOptions { ConnectionString = test.ConnectionString, Compression = LogCompression.None };
        await using var store = new SqliteBuildStore(options);
        options.Compression = LogCompression.Brotli;
        var log = await TestData.CreateLogAsync(store);

        await store.ApplyAsync(new WriteBatch { LogChunks = TestData.Chunks(log, 0, 100, 100, TestData.CompilerLine) });

        using var connection = test.Connect();
        Assert.That(TestData.Scalar(connection, "SELECT codec FROM log_chunks"), Is.EqualTo((long)LogCompression.None));
    }

    private static SqliteStorageOptions With(SqliteStorageOptions options, Action<SqliteStorageOptions> change)
    {
        change(options);
        return options;
    }
}
