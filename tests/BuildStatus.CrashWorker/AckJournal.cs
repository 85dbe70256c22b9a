using System.Text;

namespace BuildStatus.CrashWorker;

/// <summary>
/// Append-only journal of acknowledged builds. A line is written only after the build's FinishAsync completed,
/// and is on disk (write-through + fsync) before the next build is acknowledged.
/// </summary>
public sealed class AckJournal : IDisposable
{
    private readonly FileStream _stream;
    private readonly Lock _sync = new();

    public AckJournal(string path)
    {
        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 4096, FileOptions.WriteThrough);
    }

    public void Append(AckRecord record)
    {
        var bytes = Encoding.UTF8.GetBytes(record.ToJson() + "\n");
        lock (_sync)
        {
            _stream.Write(bytes);
            _stream.Flush(flushToDisk: true);
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>Reads the complete lines; cuts off a partial last line left by a kill mid-write, so the next life appends cleanly.</summary>
    public static List<AckRecord> ReadAndRepair(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var bytes = File.ReadAllBytes(path);
        var end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (end < bytes.Length)
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
            fs.SetLength(end);
            fs.Flush(flushToDisk: true);
        }

        var text = Encoding.UTF8.GetString(bytes, 0, end);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(AckRecord.FromJson).ToList();
    }
}
