namespace BuildStatus;

/// <summary>The live status of a worker (a machine or agent that runs builds).</summary>
public interface IWorkerStatus
{
    /// <summary>Gets the worker's unique name.</summary>
    string Name { get; }

    /// <summary>Gets the host the worker runs on, or <see langword="null"/>.</summary>
    string? Host { get; }

    /// <summary>Gets what the worker reported about itself (OS, version, admin, ...).</summary>
    IReadOnlyDictionary<string, string> Info { get; }

    /// <summary>Gets whether the worker is connected now.</summary>
    bool IsConnected { get; }

    /// <summary>Gets when the worker was last heard from, or <see langword="null"/>.</summary>
    DateTimeOffset? LastSeen { get; }

    /// <summary>Gets the builds running on the worker now.</summary>
    IReadOnlyList<IBuildStatus> RunningBuilds { get; }
}
