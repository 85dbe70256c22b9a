namespace BuildStatus;

/// <summary>A pending build request as the CI host drives it.</summary>
public interface IBuildRequest : IBuildRequestStatus
{
    /// <summary>Cancels the request; it leaves the pending list. Cancelling twice does nothing.</summary>
    /// <exception cref="InvalidOperationException">A build has already started for it, or the host has stopped.</exception>
    void Cancel();
}
