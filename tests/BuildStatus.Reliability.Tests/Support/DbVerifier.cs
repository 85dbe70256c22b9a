using BuildStatus.CrashWorker;
using BuildStatus.Storage;
using BuildStatus.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Reliability.Tests.Support;

/// <summary>Checks a SQLite history file after a crash or a fault: structure, numbering, chunks, and acknowledged builds.</summary>
internal static class DbVerifier
{
    public static SqliteConnection Open(string dbPath, bool readOnly = true)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = dbPath,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    public static string IntegrityCheck(string dbPath)
    {
        using var connection = Open(dbPath);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        var rows = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return string.Join("; ", rows);
    }

    /// <summary>Every builder's numbers are 1..max with no gap or duplicate, and last_number covers them.</summary>
    public static void AssertNumbersContiguous(string dbPath)
    {
        using var connection = Open(dbPath);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT r.name, b.number, r.last_number FROM builds b JOIN builders r ON r.id = b.builder_id ORDER BY r.name, b.number";
        var byBuilder = new Dictionary<string, (List<long> Numbers, long Last)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var name = reader.GetString(0);
                if (!byBuilder.TryGetValue(name, out var entry))
                {
                    entry = ([], reader.GetInt64(2));
                    byBuilder[name] = entry;
                }

                entry.Numbers.Add(reader.GetInt64(1));
            }
        }

        foreach (var (name, (numbers, last)) in byBuilder)
        {
            Assert.That(numbers, Is.EqualTo(Enumerable.Range(1, numbers.Count).Select(i => (long)i)), $"build numbers of '{name}' are 1..{numbers.Count} without gap or duplicate");
            Assert.That(last, Is.GreaterThanOrEqualTo(numbers.Count), $"last_number of '{name}'");
        }
    }

    /// <summary>Every log's chunks cover lines 0..line_count-1 exactly, in order. Returns the number of logs checked.</summary>
    public static int AssertChunksContiguous(string dbPath)
    {
        using var connection = Open(dbPath);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT l.id, l.line_count, c.first_line, c.last_line, c.line_count FROM logs l LEFT JOIN log_chunks c ON c.log_id = l.id ORDER BY l.id, c.first_line";
        var logs = 0;
        long currentLog = -1, expectedNext = 0, declared = 0;
        void Close()
        {
            if (currentLog >= 0)
            {
                Assert.That(expectedNext, Is.EqualTo(declared), $"log id {currentLog}: chunks cover {expectedNext} lines but the log row says {declared}");
            }
        }

        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var id = reader.GetInt64(0);
            if (id != currentLog)
            {
                Close();
                currentLog = id;
                declared = reader.GetInt64(1);
                expectedNext = 0;
                logs++;
            }

            if (reader.IsDBNull(2))
            {
                continue;
            }

            var first = reader.GetInt64(2);
            var last = reader.GetInt64(3);
            var count = reader.GetInt64(4);
            Assert.That(first, Is.EqualTo(expectedNext), $"log id {currentLog}: chunk starts at {first}, expected {expectedNext} (gap or overlap)");
            Assert.That(last - first + 1, Is.EqualTo(count), $"log id {currentLog}: chunk {first}..{last} declares {count} lines");
            expectedNext = last + 1;
        }

        Close();
        return logs;
    }

    /// <summary>Decodes every chunk of the logs of builds with id above <paramref name="afterBuildId"/>; lines are numbered 0..n-1.</summary>
    public static async Task<long> AssertLogsDecodeAsync(SqliteBuildStore store, string dbPath, long afterBuildId)
    {
        var keys = new List<(LogKey Key, long Lines)>();
        using (var connection = Open(dbPath))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT r.name, b.number, s.number, l.number, l.line_count FROM logs l JOIN steps s ON s.id = l.step_id JOIN builds b ON b.id = l.build_id JOIN builders r ON r.id = b.builder_id WHERE b.id > $after";
            command.Parameters.AddWithValue("$after", afterBuildId);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                keys.Add((new LogKey(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3)), reader.GetInt64(4)));
            }
        }

        long lines = 0;
        foreach (var (key, count) in keys)
        {
            var read = await store.ReadLogLinesAsync(key, 0, int.MaxValue);
            Assert.That(read, Has.Count.EqualTo(count), $"{key}: decoded line count");
            for (var i = 0; i < read.Count; i++)
            {
                if (read[i].Number != i)
                {
                    Assert.Fail($"{key}: line {i} is numbered {read[i].Number}");
                }
            }

            lines += read.Count;
        }

        return lines;
    }

    public static long MaxBuildId(string dbPath)
    {
        using var connection = Open(dbPath);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(id), 0) FROM builds";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Checks one acknowledged build: finished with its result, every step and log, lines hash-identical. Returns lines verified.</summary>
    public static async Task<long> AssertAcknowledgedAsync(IBuildStore store, AckRecord ack)
    {
        var key = new BuildKey(ack.Builder, ack.Number);
        var build = await store.GetBuildAsync(key);
        Assert.That(build, Is.Not.Null, $"acknowledged build {ack.Builder} #{ack.Number} is stored");
        Assert.That(build!.FinishedAt, Is.Not.Null, $"acknowledged build {ack.Builder} #{ack.Number} is finished");
        Assert.That(build.Result?.ToString(), Is.EqualTo(ack.Result), $"result of {ack.Builder} #{ack.Number}");
        var steps = await store.GetStepsAsync(key);
        Assert.That(steps.Select(s => (s.Key.StepNumber, s.Name, s.Result?.ToString())), Is.EqualTo(ack.Steps.Select(s => (s.Number, s.Name, (string?)s.Result))), $"steps of {ack.Builder} #{ack.Number}");
        long lines = 0;
        foreach (var step in ack.Steps)
        {
            var logs = await store.GetLogsAsync(new StepKey(ack.Builder, ack.Number, step.Number));
            Assert.That(logs.Select(l => (l.Key.LogNumber, l.Name)), Is.EqualTo(step.Logs.Select(l => (l.Number, l.Name))), $"logs of step {step.Number} of {ack.Builder} #{ack.Number}");
            foreach (var expected in step.Logs)
            {
                var stored = logs.Single(l => l.Key.LogNumber == expected.Number);
                Assert.That(stored.IsFinished, Is.True, $"{stored.Key} finished");
                Assert.That(stored.LineCount, Is.EqualTo(expected.Lines), $"{stored.Key} line count");
                var read = await store.ReadLogLinesAsync(stored.Key, 0, int.MaxValue);
                using var hasher = new LineHasher();
                foreach (var line in read)
                {
                    hasher.Add(line.Channel, line.Text);
                }

                Assert.That(hasher.Count, Is.EqualTo(expected.Lines), $"{stored.Key} lines read");
                Assert.That(hasher.Finish(), Is.EqualTo(expected.Sha256), $"{stored.Key} content hash");
                lines += read.Count;
            }
        }

        return lines;
    }
}
