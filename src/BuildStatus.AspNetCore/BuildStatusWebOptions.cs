namespace BuildStatus.AspNetCore;

/// <summary>
/// Options of the web API, streams and page mapped by
/// <see cref="Microsoft.AspNetCore.Builder.BuildStatusEndpointRouteBuilderExtensions.MapBuildStatus"/>.
/// </summary>
public sealed class BuildStatusWebOptions
{
    /// <summary>The most builds one page of a build list may ask for (<c>limit</c>).</summary>
    public const int MaxBuildPageSize = BuildQuery.MaxLimit;

    /// <summary>The most log lines one range request may ask for (<c>count</c>).</summary>
    public const int MaxLogLinesPerRequest = 5000;

    /// <summary>
    /// Gets or sets whether requests from other machines are served without an authorization policy.
    /// </summary>
    /// <value>
    /// The default value is <see langword="false"/>: only loopback requests are served, unless an authorization
    /// policy is set on the mapped group (<c>.RequireAuthorization("policy")</c>), in which case that policy decides.
    /// </value>
    public bool AllowRemoteRequests { get; set; }

    /// <summary>Gets or sets the title shown by the page.</summary>
    /// <value>The default value is <c>"BuildStatus"</c>.</value>
    public string Title { get; set; } = "BuildStatus";

    /// <summary>
    /// Gets or sets how many recent status events the server keeps, so that a client that reconnects with
    /// <c>Last-Event-ID</c> resumes without loss.
    /// </summary>
    /// <value>The default value is 10,000 events (1 to 1,000,000).</value>
    public int ReplayBufferCapacity { get; set; } = 10_000;

    /// <summary>Gets or sets the most bytes of serialized events the replay buffer holds.</summary>
    /// <value>The default value is 16 MiB (64 KiB to 1 GiB).</value>
    public long ReplayBufferBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Gets or sets how often an idle stream sends a heartbeat, so that proxies keep it open.</summary>
    /// <value>The default value is 15 seconds (10 milliseconds to 10 minutes).</value>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Gets or sets how long the server keeps one stream open before it closes it; the browser reconnects at once
    /// with <c>Last-Event-ID</c> and loses nothing. Bounds how long a connection lives behind proxies.
    /// </summary>
    /// <value>The default value is 30 minutes (100 milliseconds to 1 day).</value>
    public TimeSpan MaxStreamDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Gets or sets how long a browser waits before it reconnects a dropped stream (the SSE <c>retry</c> field).</summary>
    /// <value>The default value is 1 second (10 milliseconds to 1 minute).</value>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Checks every option and throws on the first bad one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range.</exception>
    /// <exception cref="ArgumentException"><see cref="Title"/> is empty.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Title, nameof(Title));
        CheckRange(ReplayBufferCapacity, 1, 1_000_000, nameof(ReplayBufferCapacity));
        CheckRange(ReplayBufferBytes, 64 * 1024, 1L << 30, nameof(ReplayBufferBytes));
        CheckRange(HeartbeatInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), nameof(HeartbeatInterval));
        CheckRange(MaxStreamDuration, TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1), nameof(MaxStreamDuration));
        CheckRange(ReconnectDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), nameof(ReconnectDelay));
    }

    private static void CheckRange<T>(T value, T min, T max, string name)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max}.");
        }
    }
}
