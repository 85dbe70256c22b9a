namespace BuildStatus.Storage;

/// <summary>
/// What history to delete. Only finished builds are pruned; a build is deleted with its steps, logs and
/// lines. Every limit is off by default (keep everything). Horizons are strict and "newest" means the highest build
/// number: <see cref="RetentionPlanner"/> states and applies the rules.
/// </summary>
public sealed record RetentionPolicy
{
    /// <summary>Gets the age (since finishing) after which builds are deleted, or <see langword="null"/>. The default is <see langword="null"/>.</summary>
    public TimeSpan? BuildHorizon { get; init; }

    /// <summary>Gets how many finished builds to keep per builder (the newest), or <see langword="null"/>. The default is <see langword="null"/>.</summary>
    public int? MaxBuildsPerBuilder { get; init; }

    /// <summary>Gets the age (since the build finished) after which its logs are deleted, or <see langword="null"/>. The default is <see langword="null"/>.</summary>
    public TimeSpan? LogHorizon { get; init; }

    /// <summary>Gets for how many of the newest finished builds per builder to keep logs, or <see langword="null"/>. The default is <see langword="null"/>.</summary>
    public int? MaxLogBuildsPerBuilder { get; init; }

    /// <summary>
    /// Gets the most rows one pruning transaction deletes, so writers are never blocked for long: a build, a step, a
    /// log and a log chunk count one row each (a backend may count its other rows too, which only makes its
    /// transactions smaller). A build or log with more rows than this may be deleted across several transactions,
    /// or alone in one. The default is 1,000.
    /// </summary>
    public int MaxRowsPerTransaction { get; init; } = 1000;

    /// <summary>Gets whether any limit is set.</summary>
    public bool IsEnabled => BuildHorizon is not null || MaxBuildsPerBuilder is not null || LogHorizon is not null || MaxLogBuildsPerBuilder is not null;

    /// <summary>Checks the policy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A horizon is not positive, a count is negative, or <see cref="MaxRowsPerTransaction"/> is below 1.</exception>
    public void Validate()
    {
        if (BuildHorizon is { } b && b <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BuildHorizon), b, "BuildHorizon must be positive.");
        }

        if (LogHorizon is { } l && l <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LogHorizon), l, "LogHorizon must be positive.");
        }

        if (MaxBuildsPerBuilder is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBuildsPerBuilder), MaxBuildsPerBuilder, "MaxBuildsPerBuilder must not be negative.");
        }

        if (MaxLogBuildsPerBuilder is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLogBuildsPerBuilder), MaxLogBuildsPerBuilder, "MaxLogBuildsPerBuilder must not be negative.");
        }

        if (MaxRowsPerTransaction < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRowsPerTransaction), MaxRowsPerTransaction, "MaxRowsPerTransaction must be at least 1.");
        }
    }
}
