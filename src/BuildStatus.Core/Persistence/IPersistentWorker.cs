namespace BuildStatus;

/// <summary>A worker as stored.</summary>
public interface IPersistentWorker
{
    /// <summary>Gets the worker name.</summary>
    string Name { get; }

    /// <summary>Gets the host it ran on, or <see langword="null"/>.</summary>
    string? Host { get; }

    /// <summary>Gets what it reported about itself.</summary>
    IReadOnlyDictionary<string, string> Info { get; }

    /// <summary>Gets whether it was connected when last stored.</summary>
    bool IsConnected { get; }

    /// <summary>Gets when it was last heard from, or <see langword="null"/>.</summary>
    DateTimeOffset? LastSeen { get; }
}
