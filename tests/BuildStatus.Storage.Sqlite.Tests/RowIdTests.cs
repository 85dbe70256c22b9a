using System.IO.Compression;
using BuildStatus.Storage.Sqlite.Internal;
using Dapper;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>Row ids of builds, steps and logs are never reused (schema version 5), and version 4 files keep theirs.</summary>
public sealed class RowIdTests
{
    private static readonly string[] RebuiltTables = ["builds", "steps", "logs"];

    [Test]
    public async Task PruneAsync_BuildWithTheHighestIdsDeleted_NextRowsGetIdsAboveEveryIdEverUsed()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();

        // Build 1 is written last, so it holds the highest build, step and log ids, and finished long before the others.
        await WriteBuildAsync(store, 2, TestData.T0.AddDays(10));
        await WriteBuildAsync(store, 3, TestData.T0.AddDays(10));
        await WriteBuildAsync(store, 1, TestData.T0);
        var highest = MaxIds(test);

        var pruned = await store.PruneAsync(new RetentionPolicy { BuildHorizon = TimeSpan.FromDays(1) }, TestData.T0.AddDays(10).AddHours(1));
        Assert.That(pruned.BuildsDeleted, Is.EqualTo(1));
        Assert.That(await store.GetBuildAsync(new BuildKey("linux", 1)), Is.Null);

        // A second store on the file (another process would do the same) writes the next build.
        var other = await test.OpenInitializedAsync();
        await WriteBuildAsync(other, 4, null);

        var added = Ids(test, 4);
        Assert.Multiple(() =>
        {
            foreach (var table in RebuiltTables)
            {
                Assert.That(added[table], Is.GreaterThan(highest[table]), $"{table}: the new row's id must be above every id ever used");
            }
        });
    }

    [Test]
    public async Task InitializeAsync_Version4FileWithRows_KeepsEveryRowAndIdAndNeverReusesThem()
    {
        await using var test = new TestStore();
        using (var connection = test.Connect())
        {
            // A file written by schema version 4 through the same write path, then a gap: the newest build deleted.
            SchemaMigrator.Migrate(connection, targetVersion: 4);
            using var writer = new BatchWriter(connection, new LogChunkCodec(LogCompression.Brotli, CompressionLevel.Fastest));
            for (var n = 1; n <= 4; n++)
            {
                var batch = BuildBatch(n, n == 2 ? null : TestData.T0.AddHours(n));
                writer.Apply(batch, new LogChunkCodec(LogCompression.Brotli, CompressionLevel.Fastest).EncodeAll(batch.LogChunks));
            }

            connection.Execute("DELETE FROM builds WHERE number = 4;");
            Assert.That(TestData.Scalar(connection, "SELECT max(version) FROM schema_version"), Is.EqualTo(4));
        }

        var before = Dump(test);
        var maxBefore = MaxIds(test);

        var store = await test.OpenInitializedAsync();

        var after = Dump(test);
        using var check = test.Connect();
        Assert.Multiple(async () =>
        {
            Assert.That(TestData.Scalar(check, "SELECT max(version) FROM schema_version"), Is.EqualTo(SqliteBuildStore.SchemaVersion));
            foreach (var (table, rows) in before)
            {
                Assert.That(after[table], Is.EqualTo(rows), $"{table}: every row, with its id");
            }

            foreach (var table in RebuiltTables)
            {
                Assert.That(TestData.Scalar(check, $"SELECT seq FROM sqlite_sequence WHERE name = '{table}'"), Is.EqualTo(maxBefore[table]), table);
                Assert.That(check.ExecuteScalar<string>($"SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'"), Does.Contain("AUTOINCREMENT"), table);
            }

            Assert.That(TestData.Scalar(check, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'new_%'"), Is.Zero);
            Assert.That(TestData.Scalar(check, "SELECT count(*) FROM pragma_foreign_key_check"), Is.Zero);
            Assert.That(IndexesOf(check), Is.EqualTo(IndexesOfNewFile()), "the same indexes as a file created at this version");

            // The migrated rows read back, and the foreign keys still cascade to the children.
            Assert.That((await store.GetStepsAsync(new BuildKey("linux", 3))).Select(s => s.Key.StepNumber), Is.EqualTo(new[] { 1, 2 }));
            Assert.That((await store.ReadLogLinesAsync(new LogKey("linux", 3, 2, 1), 0, 100)).Select(l => l.Text), Is.EqualTo(Lines(3)));
            Assert.That((await store.QueryBuildsAsync(new BuildQuery("linux") { Finished = false })).Select(b => b.Number), Is.EqualTo(new[] { 2 }));
        });

        // Retention deletes the finished builds 1 and 3 with their children; the unfinished build 2 keeps its 2 steps, 2 logs and 4 chunks.
        await store.PruneAsync(new RetentionPolicy { MaxBuildsPerBuilder = 0 }, TestData.T0.AddDays(1));
        Assert.That(
            new[] { "builds", "steps", "logs", "log_chunks", "source_stamps" }.Select(t => TestData.Scalar(check, $"SELECT count(*) FROM {t}")),
            Is.EqualTo(new long[] { 1, 2, 2, 4, 2 }));

        await store.ApplyAsync(BuildBatch(5, null));
        var added = Ids(test, 5);
        Assert.Multiple(() =>
        {
            foreach (var table in RebuiltTables)
            {
                Assert.That(added[table], Is.GreaterThan(maxBefore[table]), table);
            }
        });
    }

    [Test]
    public async Task InitializeAsync_Version4FileWithBrokenReference_RefusesAndLeavesTheFileAtVersion4()
    {
        await using var test = new TestStore();
        using (var connection = test.Connect())
        {
            SchemaMigrator.Migrate(connection, targetVersion: 4);
            connection.Execute(
                "PRAGMA foreign_keys = OFF;"
                + "INSERT INTO builders (id, name) VALUES (1, 'linux');"
                + "INSERT INTO builds (id, builder_id, number, host_name, started_at, state_text) VALUES (1, 1, 1, 'h', 0, 'x');"
                + "INSERT INTO steps (id, build_id, number, name, state_text, is_hidden) VALUES (1, 99, 1, 'orphan', 'x', 0);");
        }

        var store = test.Open();

        var error = Assert.ThrowsAsync<BuildStoreException>(() => store.InitializeAsync());
        using var check = test.Connect();
        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("foreign key"));
            Assert.That(TestData.Scalar(check, "SELECT max(version) FROM schema_version"), Is.EqualTo(4));
            Assert.That(TestData.Scalar(check, "SELECT count(*) FROM steps"), Is.EqualTo(1));
        });
    }

    // Build n of linux with two steps of one log each (chunks of lines) and a second stamp.
    private static WriteBatch BuildBatch(int n, DateTimeOffset? finishedAt)
    {
        var build = TestData.Build(number: n, finishedAt: finishedAt, branch: "b" + n, revision: "r" + n);
        build = build with { SourceStamps = [.. build.SourceStamps, new SourceStamp("https://example.org/lib.git", "main", "lib" + n)] };
        var key = new BuildKey("linux", n);
        var steps = new[] { TestData.Step(key, 1), TestData.Step(key, 2, "test") };
        var logs = steps.Select(s => TestData.Log(s.Key, lines: 3)).ToArray();
        return new WriteBatch
        {
            Builds = [build],
            Steps = steps,
            Logs = logs,
            LogChunks = [.. logs.SelectMany(l => TestData.Chunks(l.Key, 0, 3, 2, i => $"{n}:{i}"))],
        };
    }

    private static IEnumerable<string> Lines(int n) => Enumerable.Range(0, 3).Select(i => $"{n}:{i}");

    private static async Task WriteBuildAsync(IBuildStore store, int number, DateTimeOffset? finishedAt) => await store.ApplyAsync(BuildBatch(number, finishedAt));

    private static Dictionary<string, long> MaxIds(TestStore test)
    {
        using var connection = test.Connect();
        return RebuiltTables.ToDictionary(t => t, t => TestData.Scalar(connection, $"SELECT max(id) FROM {t}"));
    }

    // The ids of build n's rows (the highest of its steps and logs).
    private static Dictionary<string, long> Ids(TestStore test, int number)
    {
        using var connection = test.Connect();
        var build = TestData.Scalar(connection, $"SELECT id FROM builds WHERE number = {number}");
        return new Dictionary<string, long>
        {
            ["builds"] = build,
            ["steps"] = TestData.Scalar(connection, $"SELECT max(id) FROM steps WHERE build_id = {build}"),
            ["logs"] = TestData.Scalar(connection, $"SELECT max(id) FROM logs WHERE build_id = {build}"),
        };
    }

    // Every row of every table of the history (not the bookkeeping tables), each as its columns' text, in id order.
    private static Dictionary<string, List<string>> Dump(TestStore test)
    {
        using var connection = test.Connect();
        var tables = connection.Query<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('schema_version', 'sqlite_sequence')").ToList();
        var dump = new Dictionary<string, List<string>>();
        foreach (var table in tables)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table} ORDER BY 1";
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
            {
                rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetName(i) + "=" + (reader.IsDBNull(i) ? "NULL" : reader.GetValue(i) is byte[] bytes ? Convert.ToHexString(bytes) : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)))));
            }

            dump[table] = rows;
        }

        return dump;
    }

    private static List<string> IndexesOf(SqliteConnection connection) =>
        connection.Query<string>("SELECT tbl_name || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY tbl_name, name").ToList();

    private static List<string> IndexesOfNewFile()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        SchemaMigrator.Migrate(connection);
        return IndexesOf(connection);
    }
}
