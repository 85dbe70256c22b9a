namespace BuildStatus.Storage;

/// <summary>Where a stored build request is in its life: pending → claimed by one instance → started, or cancelled.</summary>
public enum BuildRequestState
{
    /// <summary>Waiting for a host to start it.</summary>
    Pending = 0,

    /// <summary>Claimed by one instance, which is starting its build (returns to pending if that instance dies first).</summary>
    Claimed = 1,

    /// <summary>Its build started (<see cref="StoredBuildRequest.BuildNumber"/>).</summary>
    Started = 2,

    /// <summary>Cancelled before a build started.</summary>
    Cancelled = 3,
}
