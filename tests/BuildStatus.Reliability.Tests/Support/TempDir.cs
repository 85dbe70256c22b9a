namespace BuildStatus.Reliability.Tests.Support;

/// <summary>A fresh directory per test, deleted (with any immutable flag cleared) on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bs-rel-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(Path))
                {
                    Directory.Delete(Path, recursive: true);
                }

                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Thread.Sleep(50); // Not an assertion: lets a pooled connection close before the retry.
            }
        }
    }
}
