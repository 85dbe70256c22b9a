namespace BuildStatus;

/// <summary>A worker as the CI host drives it. It is its own <see cref="IWorkerStatus"/>.</summary>
public interface IWorker : IWorkerStatus
{
    /// <summary>Gets the persistent counterpart of this worker.</summary>
    IPersistentWorker Persistent { get; }

    /// <summary>Marks the worker connected and records what it reported.</summary>
    /// <param name="host">The host it runs on, or <see langword="null"/>.</param>
    /// <param name="info">What it reported about itself, or <see langword="null"/> to keep the earlier info.</param>
    /// <exception cref="ArgumentException"><paramref name="info"/> has a <see langword="null"/> key or value.</exception>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    void Connect(string? host = null, IReadOnlyDictionary<string, string>? info = null);

    /// <summary>Marks the worker disconnected. Disconnecting a disconnected worker does nothing.</summary>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    void Disconnect();

    /// <summary>Records that the worker was heard from now (a keep-alive).</summary>
    /// <exception cref="InvalidOperationException">The host has stopped.</exception>
    void Touch();
}
