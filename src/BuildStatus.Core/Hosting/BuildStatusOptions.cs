using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>Options of a BuildStatus host. Validated when the host starts.</summary>
public sealed class BuildStatusOptions
{
    /// <summary>
    /// Gets or sets this host's name, stored with every build it runs and with its instance. With a store without
    /// instances it also finds the builds this host left unfinished; with instances, several hosts may share it.
    /// The default is <see cref="Environment.MachineName"/>. Not empty or white space; at most 200 characters.
    /// </summary>
    public string HostName { get; set; } = Environment.MachineName;

    /// <summary>Gets or sets how many finished builds each builder keeps in RAM. The default is 20; 0 to 10,000.</summary>
    public int RecentBuildsPerBuilder { get; set; } = 20;

    /// <summary>Gets or sets how many recent lines each live log keeps in RAM. The default is 100; 0 to 100,000.</summary>
    public int LogTailLines { get; set; } = 100;

    /// <summary>
    /// Gets or sets the bound, in bytes of log text, of what is queued for storage. Appends wait while it is
    /// reached. The default is 16 MiB; at least 64 KiB. The text waits as UTF-8 in pooled buffers that grow by
    /// doubling, so RAM holds up to about twice the bound.
    /// </summary>
    public long MaxQueueBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Gets or sets the most rows and chunks one storage batch holds. The default is 10,000; 1 to 1,000,000.</summary>
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>Gets or sets the most log bytes one storage batch holds. The default is 8 MiB; at least 1 KiB (1,024).</summary>
    public int MaxBatchBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Gets or sets the most lines in one stored log chunk. The default is 1,000; 1 to 1,000,000.</summary>
    public int LogChunkMaxLines { get; set; } = 1000;

    /// <summary>Gets or sets the most bytes in one stored log chunk (a longer single line is a chunk of its own). The default is 64 KiB; 256 bytes to 64 MiB.</summary>
    public int LogChunkMaxBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Gets or sets the most bytes of one log that are stored, or 0 for no limit. Past it, the head is kept,
    /// then a marker line, then the last <see cref="MaxLogTailBytes"/> of the log (Buildbot's
    /// <c>logMaxSize</c>). The default is 0; not negative.
    /// </summary>
    public long MaxLogBytes { get; set; }

    /// <summary>
    /// Gets or sets the longest line, in UTF-16 chars, that a log keeps as one line. Output that never ends a line (a
    /// progress meter writing only <c>'\r'</c>, binary data) is split: every <see cref="MaxLineLength"/> chars become a
    /// line of their own, and the rest continues on the next line (a surrogate pair is never split, so such a line may
    /// be one char shorter). The default is 65,536 (64 Ki chars); 16 to 16,777,216.
    /// </summary>
    public int MaxLineLength { get; set; } = 64 * 1024;

    /// <summary>Gets or sets how many bytes of the end of an over-size log are kept (Buildbot's <c>logMaxTailSize</c>). The default is 64 KiB; not negative.</summary>
    public int MaxLogTailBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Gets or sets each subscriber's buffer in events. Its consumer takes events out in batches of up to 256 (at most
    /// this many), and a batch taken out no longer counts. The default is 10,000; 16 to 100,000,000.
    /// </summary>
    public int SubscriberBufferCapacity { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets each subscriber's buffer bound in bytes of log text: the text of the <see cref="LogChunk"/>
    /// events it holds, 2 bytes per char (one chunk carries a whole append, however large). An event that would
    /// exceed it is dropped and counted like one that finds the buffer full (the subscriber gets
    /// <see cref="EventsMissed"/>), except that an empty buffer takes any one event. The default is 16 MiB; at
    /// least 64 KiB.
    /// </summary>
    public long SubscriberBufferBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Gets or sets how many times the writer tries a batch before it declares storage failed and faults the
    /// durability tasks (it keeps retrying in the background). The default is 8; 1 to 1,000.
    /// </summary>
    public int MaxWriteAttempts { get; set; } = 8;

    /// <summary>Gets or sets the first retry delay; it doubles per attempt up to <see cref="RetryMaxDelay"/>. The default is 50 ms; positive.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Gets or sets the longest retry delay. The default is 10 s; positive, and not shorter than <see cref="RetryBaseDelay"/>.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how long each phase of a graceful stop may take: first the wait for live builds to finish (the
    /// host is <em>draining</em>: no new builds, running ones may still change and finish), then the wait for the write
    /// queue to drain. Measured in real time (not the injected <see cref="TimeProvider"/>), so a stop never waits for a
    /// fake clock. The default is 30 s; positive.
    /// </summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the source of randomness for the retry jitter: a function returning a value in [0, 1). Tests set it
    /// to make retry delays exact. Not <see langword="null"/>. The default is <see cref="Random.Shared"/>'s <see cref="Random.NextDouble"/>.
    /// </summary>
    public Func<double> Randomizer { get; set; } = static () => Random.Shared.NextDouble();

    /// <summary>
    /// Gets or sets whether start-up finishes interrupted builds as <see cref="BuildResult.Retry"/>: with a store that
    /// has instances (<see cref="Storage.IBuildInstanceStore"/>: SQLite, PostgreSQL, in-memory), the builds of instances that stopped
    /// or whose lease expired, whatever their host name; with any other store, the unfinished builds of this
    /// <see cref="HostName"/>. Only the start's recovery: with instances, every heartbeat recovers dead instances whatever
    /// this says. The default is <see langword="true"/>.
    /// </summary>
    public bool RecoverOnStart { get; set; } = true;

    /// <summary>
    /// Gets or sets how often the host renews its instance's lease and looks for dead instances to recover (stores with
    /// instances only). The default is 10 s; positive.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how long an instance's lease lasts without renewal; once it has run out, another instance may claim
    /// it, finish its builds as <see cref="BuildResult.Retry"/> and fence it. Must be longer than
    /// <see cref="HeartbeatInterval"/>. The default is 30 s (three heartbeats).
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the longest a host waits before it reads the storage's event outbox again when no notification came
    /// (stores with an event feed, such as PostgreSQL, and only while a subscriber asks for other hosts' events with
    /// <see cref="StatusEventFilter.IncludeOtherHosts"/>): the safety net for a missed notification, and the delay of
    /// other hosts' events on a store that has no notifications. The default is 1 s; positive.
    /// </summary>
    public TimeSpan OtherHostsPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the retention policy the janitor applies (checked by <see cref="RetentionPolicy.Validate"/>); not <see langword="null"/>. The default keeps everything.</summary>
    public RetentionPolicy Retention { get; set; } = new();

    /// <summary>Gets or sets how often the janitor prunes. The default is 1 hour; positive.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Gets or sets how long the writer, woken from idle by a change nobody waits for, gathers more changes before it
    /// commits them: a host that changes status in small steps (a line at a time, say) then costs one commit per burst
    /// instead of one per step. Durability waits (<c>FinishAsync</c>, <c>FlushAsync</c>, a full queue, a stop) cut it
    /// short. <see cref="TimeSpan.Zero"/> turns it off. The default is 2 ms; at most 1 s.
    /// </summary>
    public TimeSpan GroupCommitDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Gets or sets how many recent successful builds of a builder feed its ETA. The default is 10; 1 to 1,000.</summary>
    public int EtaHistorySize { get; set; } = 10;
}
