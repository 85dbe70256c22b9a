using BuildStatus.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace BuildStatus.Storage.Sqlite.Tests;

/// <summary>A temporary directory holding one database file, deleted (with every store opened on it) when disposed.</summary>
internal sealed class TestStore : IAsyncDisposable
{
    private readonly List<SqliteBuildStore> _stores = [];

    public TestStore()
    {
        Directory = Path.Combine(Path.GetTempPath(), "buildstatus-sqlite-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        FilePath = Path.Combine(Directory, "history.db");
    }

    public string Directory { get; }

    public string FilePath { get; }

    public string ConnectionString => $"Data Source={FilePath}";

    /// <summary>Opens a store on the file (not yet initialized); disposed with this object.</summary>
    public SqliteBuildStore Open(Action<SqliteStorageOptions>? configure = null)
    {
        var options = new SqliteStorageOptions { ConnectionString = ConnectionString };
        configure?.Invoke(options);
        var store = new SqliteBuildStore(options);
        lock (_stores)
        {
            _stores.Add(store);
        }

        return store;
    }

    /// <summary>Opens and initializes a store on the file.</summary>
    public async Task<SqliteBuildStore> OpenInitializedAsync(Action<SqliteStorageOptions>? configure = null)
    {
        var store = Open(configure);
        await store.InitializeAsync();
        return store;
    }

    /// <summary>Opens a plain connection on the file (not pooled, so disposing it closes the file).</summary>
    public SqliteConnection Connect()
    {
        var connection = new SqliteConnection($"{ConnectionString};Pooling=False");
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A pooled connection of another test may still hold the file open on some platforms; the temp dir is reclaimed later.
        }
    }
}
