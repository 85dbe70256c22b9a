using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace BuildStatus.CrashWorker;

/// <summary>One acknowledged build: what must be in storage once its FinishAsync completed. One JSON line each in the journal.</summary>
public sealed record AckRecord(string Builder, int Number, string Result, List<AckStep> Steps)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static AckRecord FromJson(string line) => JsonSerializer.Deserialize<AckRecord>(line) ?? throw new FormatException("empty ack line");
}

/// <summary>A step of an acknowledged build.</summary>
public sealed record AckStep(int Number, string Name, string Result, List<AckLog> Logs);

/// <summary>A log of an acknowledged step: its line count and the hash of all its lines.</summary>
public sealed record AckLog(int Number, string Name, long Lines, string Sha256);

/// <summary>Hashes log lines the same way in the worker (what it appended) and in the test (what was stored).</summary>
public sealed class LineHasher : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[] _buffer = new byte[256];

    public long Count { get; private set; }

    public void Add(LogChannel channel, string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length) + 2;
        if (_buffer.Length < max)
        {
            _buffer = new byte[max];
        }

        _buffer[0] = (byte)channel;
        var n = Encoding.UTF8.GetBytes(text, 0, text.Length, _buffer, 1);
        _buffer[n + 1] = (byte)'\n';
        _hash.AppendData(_buffer, 0, n + 2);
        Count++;
    }

    public string Finish() => Convert.ToHexString(_hash.GetHashAndReset());

    public void Dispose() => _hash.Dispose();
}
