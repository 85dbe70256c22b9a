namespace BuildStatus;

/// <summary>What a builder is doing right now.</summary>
public enum BuilderState
{
    /// <summary>No attached worker is connected, so nothing can run.</summary>
    Offline = 0,

    /// <summary>Ready, with no build running.</summary>
    Idle = 1,

    /// <summary>At least one build is running.</summary>
    Building = 2,
}
