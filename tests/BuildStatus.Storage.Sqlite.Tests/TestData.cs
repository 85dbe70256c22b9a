using System.Text;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>Builders of stored rows for the tests.</summary>
internal static class TestData
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    public static StoredBuild Build(
        string builder = "linux",
        int number = 0,
        string host = "host-a",
        DateTimeOffset? startedAt = null,
        DateTimeOffset? finishedAt = null,
        BuildResult? result = null,
        string? branch = "main",
        string? revision = "abc123",
        IReadOnlyDictionary<string, PropertyValue>? properties = null) =>
        new(
            builder,
            number,
            host,
            "push",
            [new SourceStamp("https://example.org/repo.git", branch, revision, "proj", null)],
            [new BuildChange(revision ?? "r", "alice", "Fix it")],
            ["alice"],
            "worker-1",
            properties ?? new Dictionary<string, PropertyValue> { ["os"] = new("linux", "Worker") },
            startedAt ?? T0,
            finishedAt,
            finishedAt is null ? "building" : "done",
            finishedAt is null ? null : result ?? BuildResult.Success);

    public static StoredStep Step(BuildKey build, int number = 1, string name = "compile") =>
        new(new StepKey(build.BuilderName, build.Number, number), name, "running", T0, null, null, [], new Dictionary<string, double>(), false);

    public static StoredLog Log(StepKey step, int number = 1, long lines = 0) =>
        new(new LogKey(step.BuilderName, step.BuildNumber, step.StepNumber, number), "stdio", LogKind.Stdio, false, lines, 0);

    /// <summary>
    /// Chunks of <paramref name="chunkLines"/> lines covering lines <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/>,
    /// built from UTF-8 as Core builds them; line n is on channel n % 3.
    /// </summary>
    public static List<StoredLogChunk> Chunks(LogKey log, long first, int count, int chunkLines, Func<long, string> text)
    {
        var chunks = new List<StoredLogChunk>();
        for (var start = first; start < first + count; start += chunkLines)
        {
            var end = Math.Min(start + chunkLines, first + count);
            chunks.Add(Chunk(log, start, Enumerable.Range(0, (int)(end - start)).Select(i => ((LogChannel)((start + i) % 3), text(start + i)))));
        }

        return chunks;
    }

    /// <summary>A chunk starting at line <paramref name="first"/>, built with the UTF-8 constructor (text and a '\n' per line, a channel byte per line).</summary>
    public static StoredLogChunk Chunk(LogKey log, long first, IEnumerable<(LogChannel Channel, string Text)> lines)
    {
        var text = new List<byte>();
        var channels = new List<byte>();
        foreach (var (channel, line) in lines)
        {
            text.AddRange(Encoding.UTF8.GetBytes(line));
            text.Add((byte)'\n');
            channels.Add((byte)channel);
        }

        return new StoredLogChunk(log, first, text.ToArray(), channels.ToArray());
    }

    /// <summary>An 80-character build-log line, repetitive like real compiler output.</summary>
    public static string CompilerLine(long n) =>
        $"[{n,7}] CSC : compiling src/Project{n % 17}/File{n % 211}.cs -> obj/Release/net10.0/ok".PadRight(80, '.')[..80];

    /// <summary>Creates a build with one step and one log, returning the log's key.</summary>
    public static async Task<LogKey> CreateLogAsync(IBuildStore store, string builder = "linux")
    {
        var number = await store.CreateBuildAsync(Build(builder));
        var build = new BuildKey(builder, number);
        var step = Step(build);
        var log = Log(step.Key);
        await store.ApplyAsync(new WriteBatch { Steps = [step], Logs = [log] });
        return log.Key;
    }

    public static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
