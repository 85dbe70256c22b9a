using System.Diagnostics;
using System.IO.Compression;
using Dapper;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>
/// Quick write-throughput measurements behind the defaults (not a benchmark suite; run on demand with
/// <c>dotnet test --filter Category=Measurement</c>). Each also checks what it wrote reads back.
/// </summary>
[Explicit("Measurement; run on demand.")]
[Category("Measurement")]
[NonParallelizable]
public sealed class Measurements
{
    private const int Chunks = 200;
    private const int LinesPerChunk = 1000;
    private const int ChunksPerBatch = 8;

    private static readonly string[] Words = ["CSC", "warning", "CS0168", "Restored", "Building", "Linking", "obj/Release/net10.0", "src/Core", "PASS", "FAIL", "test_", "ms", "Compiling"];

    [TestCase(LogCompression.None, CompressionLevel.Fastest)]
    [TestCase(LogCompression.Deflate, CompressionLevel.Fastest)]
    [TestCase(LogCompression.Deflate, CompressionLevel.Optimal)]
    [TestCase(LogCompression.Gzip, CompressionLevel.Fastest)]
    [TestCase(LogCompression.Brotli, CompressionLevel.Fastest)]
    [TestCase(LogCompression.Brotli, CompressionLevel.Optimal)]
    public async Task ApplyAsync_ThousandLineChunksOf80CharLines_Throughput(LogCompression codec, CompressionLevel level)
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o =>
        {
            o.Compression = codec;
            o.CompressionLevel = level;
        });
        var log = await TestData.CreateLogAsync(store);
        var random = new Random(42);
        var chunks = TestData.Chunks(log, 0, Chunks * LinesPerChunk, LinesPerChunk, n => RealisticLine(random, n));
        var rawBytes = chunks.Sum(c => c.TextByteCount + (2L * c.LineCount));

        var stopwatch = Stopwatch.StartNew();
        foreach (var batch in chunks.Chunk(ChunksPerBatch))
        {
            await store.ApplyAsync(new WriteBatch { LogChunks = batch });
        }

        stopwatch.Stop();
        using var connection = test.Connect();
        var stored = TestData.Scalar(connection, "SELECT sum(length(content)) FROM log_chunks");
        var readWatch = Stopwatch.StartNew();
        var sample = await store.ReadLogLinesAsync(log, 123_456, 1000);
        readWatch.Stop();
        var seconds = stopwatch.Elapsed.TotalSeconds;
        TestContext.Out.WriteLine(
            $"{codec,-8} {level,-8} {Chunks * LinesPerChunk / seconds,10:N0} lines/s {rawBytes / seconds / 1e6,7:N1} MB/s  stored {stored / 1e6,6:N2} MB of {rawBytes / 1e6:N2} MB ({100.0 * stored / rawBytes:N1}%)  read 1000 lines {readWatch.Elapsed.TotalMilliseconds:N2} ms");
        Assert.That(sample.Select(l => l.Number), Is.EqualTo(Enumerable.Range(123_456, 1000).Select(i => (long)i)));
    }

    [Test]
    public async Task ChunkInsert_DapperVersusPreparedCommand_Timing()
    {
        await using var test = new TestStore();
        await test.OpenInitializedAsync();
        using var connection = test.Connect();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA synchronous = NORMAL; CREATE TABLE t (log_id INTEGER, first_line INTEGER, last_line INTEGER, line_count INTEGER, codec INTEGER, content BLOB)";
            setup.ExecuteNonQuery();
        }

        const int Rows = 50_000;
        var blob = new byte[2000];
        const string Sql = "INSERT INTO t (log_id, first_line, last_line, line_count, codec, content) VALUES ($log, $first, $last, $count, $codec, $content)";

        var dapper = Stopwatch.StartNew();
        using (var transaction = connection.BeginTransaction())
        {
            for (var i = 0; i < Rows; i++)
            {
                connection.Execute(Sql, new { log = 1L, first = (long)i * 1000, last = (long)i * 1000 + 999, count = 1000L, codec = 1L, content = blob }, transaction);
            }

            transaction.Commit();
        }

        dapper.Stop();
        var prepared = Stopwatch.StartNew();
        using (var transaction = connection.BeginTransaction())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = Sql;
            command.Transaction = transaction;
            var p = new[] { "$log", "$first", "$last", "$count", "$codec", "$content" }.Select(n => command.Parameters.Add(new Microsoft.Data.Sqlite.SqliteParameter(n, DBNull.Value))).ToArray();
            command.Prepare();
            for (var i = 0; i < Rows; i++)
            {
                p[0].Value = 1L;
                p[1].Value = (long)i * 1000;
                p[2].Value = (long)i * 1000 + 999;
                p[3].Value = 1000L;
                p[4].Value = 1L;
                p[5].Value = blob;
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        prepared.Stop();
        TestContext.Out.WriteLine($"{Rows:N0} chunk rows: Dapper {Rows / dapper.Elapsed.TotalSeconds:N0} rows/s, prepared SqliteCommand {Rows / prepared.Elapsed.TotalSeconds:N0} rows/s ({dapper.Elapsed / prepared.Elapsed:N2}x)");
        Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM t"), Is.EqualTo(2 * Rows));
    }

    /// <summary>An 80-character line like real build output: a timestamp, a level, words, a path and a hash.</summary>
    private static string RealisticLine(Random random, long n)
    {
        var line = $"{n * 37 % 86_400_000:D8} {Words[random.Next(Words.Length)]} {Words[random.Next(Words.Length)]}/File{random.Next(500)}.cs({random.Next(1, 900)},{random.Next(1, 80)}) {random.NextInt64():x16} {Words[random.Next(Words.Length)]}";
        return line.PadRight(80, ' ')[..80];
    }
}
