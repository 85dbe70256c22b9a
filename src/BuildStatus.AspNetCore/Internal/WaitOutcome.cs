namespace BuildStatus.AspNetCore.Internal;

/// <summary>How a stream's wait for more data ended.</summary>
internal enum WaitOutcome
{
    /// <summary>The awaited task completed.</summary>
    Completed,

    /// <summary>The timeout passed first.</summary>
    TimedOut,

    /// <summary>The client went away or the application is stopping.</summary>
    Cancelled,
}
