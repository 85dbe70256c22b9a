namespace BuildStatus;

/// <summary>Kinds of status events, as flags for <see cref="StatusEventFilter.Kinds"/>.</summary>
[Flags]
public enum StatusEventKinds
{
    /// <summary>No events.</summary>
    None = 0,

    /// <summary><see cref="BuilderAdded"/>.</summary>
    BuilderAdded = 1 << 0,

    /// <summary><see cref="BuilderStateChanged"/>.</summary>
    BuilderStateChanged = 1 << 1,

    /// <summary><see cref="BuildRequested"/>.</summary>
    BuildRequested = 1 << 2,

    /// <summary><see cref="BuildStarted"/>.</summary>
    BuildStarted = 1 << 3,

    /// <summary><see cref="BuildChanged"/>.</summary>
    BuildChanged = 1 << 4,

    /// <summary><see cref="BuildFinished"/>.</summary>
    BuildFinished = 1 << 5,

    /// <summary><see cref="StepStarted"/>.</summary>
    StepStarted = 1 << 6,

    /// <summary><see cref="StepTextChanged"/>.</summary>
    StepTextChanged = 1 << 7,

    /// <summary><see cref="StepFinished"/>.</summary>
    StepFinished = 1 << 8,

    /// <summary><see cref="LogStarted"/>.</summary>
    LogStarted = 1 << 9,

    /// <summary><see cref="LogChunk"/>.</summary>
    LogChunk = 1 << 10,

    /// <summary><see cref="LogFinished"/>.</summary>
    LogFinished = 1 << 11,

    /// <summary><see cref="WorkerConnected"/>.</summary>
    WorkerConnected = 1 << 12,

    /// <summary><see cref="WorkerDisconnected"/>.</summary>
    WorkerDisconnected = 1 << 13,

    /// <summary><see cref="EtaUpdated"/>.</summary>
    EtaUpdated = 1 << 14,

    /// <summary>A build was lost: this host's instance was fenced and another recovered the build (<see cref="BuildLost"/>).</summary>
    BuildLost = 1 << 15,

    /// <summary>A build request changed state: claimed, back to pending, started or cancelled (<see cref="BuildRequestChanged"/>).</summary>
    BuildRequestChanged = 1 << 16,

    /// <summary>Every kind. <see cref="EventsMissed"/> notices are always delivered, whatever the filter.</summary>
    All = (1 << 17) - 1,
}
