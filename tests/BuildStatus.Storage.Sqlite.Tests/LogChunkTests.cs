using BuildStatus.Storage.Sqlite.Internal;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class LogChunkTests
{
    private static readonly LogCompression[] Codecs = [LogCompression.None, LogCompression.Deflate, LogCompression.Gzip, LogCompression.Brotli];
    private static readonly LogCompression[] CompressingCodecs = [LogCompression.Deflate, LogCompression.Gzip, LogCompression.Brotli];

    [TestCaseSource(nameof(Codecs))]
    public async Task ApplyAsync_CompressibleLog_RoundTripsAndStoresWithCodec(LogCompression codec)
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o => o.Compression = codec);
        var log = await TestData.CreateLogAsync(store);
        var chunks = TestData.Chunks(log, 0, 1000, 1000, TestData.CompilerLine);

        await store.ApplyAsync(new WriteBatch { LogChunks = chunks });

        var lines = await store.ReadLogLinesAsync(log, 0, 5000);
        using var connection = test.Connect();
        var rawSize = chunks[0].TextByteCount + (2 * chunks[0].LineCount); // a channel byte and a 1-byte length per line
        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(chunks[0].Lines));
            Assert.That(TestData.Scalar(connection, "SELECT codec FROM log_chunks"), Is.EqualTo((long)codec));
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM log_chunks WHERE first_line = 0 AND last_line = 999 AND line_count = 1000"), Is.EqualTo(1));
            Assert.That(TestData.Scalar(connection, "SELECT length(content) FROM log_chunks"), codec == LogCompression.None ? Is.EqualTo(rawSize) : Is.LessThan(rawSize / 3));
        });
    }

    [TestCaseSource(nameof(CompressingCodecs))]
    public async Task ApplyAsync_IncompressibleChunk_StoresItUncompressed(LogCompression codec)
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o => o.Compression = codec);
        var log = await TestData.CreateLogAsync(store);
        var random = new Random(1234);
        var text = new string(Enumerable.Range(0, 60).Select(_ => (char)random.Next(33, 127)).ToArray());
        var chunk = new StoredLogChunk(log, [new LogLine(0, LogChannel.Stdout, text)]);

        await store.ApplyAsync(new WriteBatch { LogChunks = [chunk] });

        using var connection = test.Connect();
        Assert.Multiple(async () =>
        {
            Assert.That(TestData.Scalar(connection, "SELECT codec FROM log_chunks"), Is.EqualTo((long)LogCompression.None));
            Assert.That(TestData.Scalar(connection, "SELECT length(content) FROM log_chunks"), Is.EqualTo(2 + 60));
            Assert.That(await store.ReadLogLinesAsync(log, 0, 10), Is.EqualTo(chunk.Lines));
        });
    }

    [TestCaseSource(nameof(Codecs))]
    public async Task ReadLogLinesAsync_ChunkStoredInOriginalFormat_ReadsBackAndLaterChunksFollowIt(LogCompression codec)
    {
        // A row as an earlier version wrote it, inserted by hand: reading needs no migration, and a new chunk continues after it.
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync(o => o.Compression = codec);
        var log = await TestData.CreateLogAsync(store);
        (LogChannel Channel, string Text)[] old = [(LogChannel.Header, "old header"), (LogChannel.Stdout, string.Empty), (LogChannel.Stderr, "é\r\0 " + new string('x', 300))];
        using (var connection = test.Connect())
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO log_chunks (log_id, first_line, last_line, line_count, codec, content) SELECT id, 0, 2, 3, $codec, $content FROM logs";
            insert.Parameters.AddWithValue("$codec", (long)codec);
            insert.Parameters.AddWithValue("$content", OriginalChunkFormat.Compress(codec, OriginalChunkFormat.Raw(old)));
            Assert.That(insert.ExecuteNonQuery(), Is.EqualTo(1));
        }

        var next = TestData.Chunks(log, 3, 2, 2, TestData.CompilerLine);
        await store.ApplyAsync(new WriteBatch { LogChunks = next });

        var lines = await store.ReadLogLinesAsync(log, 0, 10);
        Assert.That(lines, Is.EqualTo(old.Select((l, i) => new LogLine(i, l.Channel, l.Text)).Concat(next[0].Lines)));
    }

    [Test]
    public async Task ReadLogLinesAsync_RangesOf10000LineLog_ReturnExactLinesAcrossChunkBoundaries()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);
        static string Text(long n) => $"line {n} " + new string((char)('a' + (n % 26)), (int)(n % 50));

        // 10,000 lines in chunks of 997 (so boundaries fall at odd places), written over several batches.
        var chunks = TestData.Chunks(log, 0, 10_000, 997, Text);
        foreach (var batch in chunks.Chunk(3))
        {
            await store.ApplyAsync(new WriteBatch { LogChunks = batch });
        }

        var all = await store.ReadLogLinesAsync(log, 0, 20_000);
        var middle = await store.ReadLogLinesAsync(log, 990, 20);
        var across = await store.ReadLogLinesAsync(log, 1500, 2000);
        var tail = await store.ReadLogLinesAsync(log, 9_990, 100);
        var past = await store.ReadLogLinesAsync(log, 10_000, 5);
        var none = await store.ReadLogLinesAsync(log, 5, 0);
        var unknown = await store.ReadLogLinesAsync(log with { LogNumber = 9 }, 0, 5);

        Assert.Multiple(() =>
        {
            Assert.That(all, Has.Count.EqualTo(10_000));
            Assert.That(all.Select(l => l.Number), Is.EqualTo(Enumerable.Range(0, 10_000).Select(i => (long)i)));
            Assert.That(all.All(l => l.Text == Text(l.Number) && l.Channel == (LogChannel)(l.Number % 3)), Is.True);
            Assert.That(middle.Select(l => l.Number), Is.EqualTo(Enumerable.Range(990, 20).Select(i => (long)i)));
            Assert.That(middle[9].Text, Is.EqualTo(Text(999)));
            Assert.That(across.Select(l => l.Number), Is.EqualTo(Enumerable.Range(1500, 2000).Select(i => (long)i)));
            Assert.That(tail.Select(l => l.Number), Is.EqualTo(Enumerable.Range(9_990, 10).Select(i => (long)i)));
            Assert.That(past, Is.Empty);
            Assert.That(none, Is.Empty);
            Assert.That(unknown, Is.Empty);
        });
    }

    [Test]
    public async Task ApplyAsync_SameBatchTwice_StoresEachLineOnce()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);
        var batch = new WriteBatch { LogChunks = TestData.Chunks(log, 0, 250, 100, TestData.CompilerLine) };

        await store.ApplyAsync(batch);
        await store.ApplyAsync(batch);

        using var connection = test.Connect();
        Assert.Multiple(async () =>
        {
            Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM log_chunks"), Is.EqualTo(3));
            Assert.That(await store.ReadLogLinesAsync(log, 0, 1000), Has.Count.EqualTo(250));
        });
    }

    [Test]
    public async Task ApplyAsync_ChunkLeavingGap_ThrowsAndAppliesNothing()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);
        var ok = TestData.Chunks(log, 0, 10, 10, TestData.CompilerLine);
        var gap = TestData.Chunks(log, 11, 5, 5, TestData.CompilerLine);
        var newStep = TestData.Step(log.Step.Build, number: 2, name: "test");

        var error = Assert.ThrowsAsync<BatchRejectedException>(() => store.ApplyAsync(new WriteBatch { Steps = [newStep], LogChunks = [.. ok, .. gap] }));

        Assert.Multiple(async () =>
        {
            Assert.That(error!.Message, Does.Contain("gap"));
            Assert.That(error.Keys, Is.EqualTo(new object[] { log }));
            Assert.That(await store.GetStepsAsync(log.Step.Build), Has.Count.EqualTo(1));
            Assert.That(await store.ReadLogLinesAsync(log, 0, 100), Is.Empty);
        });
    }

    [Test]
    public async Task ApplyAsync_ChunkOfLogWithoutRow_Throws()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();
        var log = await TestData.CreateLogAsync(store);

        Assert.ThrowsAsync<BatchRejectedException>(() => store.ApplyAsync(new WriteBatch { LogChunks = TestData.Chunks(log with { LogNumber = 2 }, 0, 1, 1, TestData.CompilerLine) }));
    }

    [Test]
    public async Task ApplyAsync_StepOfMissingBuild_ThrowsAndAppliesNothing()
    {
        await using var test = new TestStore();
        var store = await test.OpenInitializedAsync();

        Assert.ThrowsAsync<BatchRejectedException>(() => store.ApplyAsync(new WriteBatch
        {
            Builders = [new StoredBuilder("linux", null, [])],
            Steps = [TestData.Step(new BuildKey("linux", 5))],
        }));

        Assert.That(await store.GetBuildersAsync(), Is.Empty);
    }
}
