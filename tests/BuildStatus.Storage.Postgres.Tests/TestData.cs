namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>Stored rows for the tests.</summary>
internal static class TestData
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    public static StoredBuild Build(string builder = "linux", int number = 0, string host = "host-a") =>
        new(
            builder,
            number,
            host,
            "push",
            [new SourceStamp("https://example.org/repo.git", "main", "abc123", "proj", null)],
            [new BuildChange("abc123", "alice", "Fix it")],
            ["alice"],
            "worker-1",
            new Dictionary<string, PropertyValue>(StringComparer.Ordinal) { ["os"] = new("linux", "Worker") },
            T0,
            null,
            "building",
            null);

    public static StoredLogChunk Chunk(LogKey log, long first, int count) =>
        new(log, [.. Enumerable.Range(0, count).Select(i => new LogLine(first + i, LogChannel.Stdout, $"line {first + i}: compiling src/module{i % 17}.c"))]);
}
