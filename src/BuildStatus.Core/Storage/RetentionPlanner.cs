namespace BuildStatus.Storage;

/// <summary>
/// The retention rules, once for every backend: given a builder's finished builds newest first, says which are
/// deleted and which lose their logs. A backend streams its finished builds through <see cref="Classify"/> and
/// executes the deletions it is told; it never re-derives the policy.
/// </summary>
/// <remarks>
/// <para>The rules:</para>
/// <list type="bullet">
/// <item>Only finished builds count and are touched; an unfinished build is never passed in, never counted and
/// never deleted, however old.</item>
/// <item>"Newest" means the highest build number, not the latest finish time: the build ranked 0 is the
/// finished build with the highest number of its builder.</item>
/// <item>A build is deleted when it finished strictly before <see cref="BuildCutoff"/> (<c>now</c> minus
/// <see cref="RetentionPolicy.BuildHorizon"/>: a build that finished exactly at the horizon is kept) or when its
/// rank is <see cref="RetentionPolicy.MaxBuildsPerBuilder"/> or more.</item>
/// <item>Otherwise its logs are deleted when it finished strictly before <see cref="LogCutoff"/> or its rank is
/// <see cref="RetentionPolicy.MaxLogBuildsPerBuilder"/> or more; a deleted build's logs are counted as part of
/// the build, not in <see cref="PruneResult.LogsDeleted"/>.</item>
/// <item>Times compare exactly (a cutoff may be finer than the stored microseconds).</item>
/// </list>
/// <para>
/// An instance serves one pruning pass and is not thread-safe: the pass that created it owns it.
/// </para>
/// </remarks>
public sealed class RetentionPlanner
{
    private readonly RetentionPolicy _policy;

    // Builders whose finished builds were already classified, so a builder passed in twice is an error.
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private string? _builder;
    private int _lastNumber;
    private int _rank;

    /// <summary>Initializes a new instance of the <see cref="RetentionPlanner"/> class.</summary>
    /// <param name="policy">The policy; validated here.</param>
    /// <param name="now">The current time, from the host's <see cref="TimeProvider"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The policy is invalid (see <see cref="RetentionPolicy.Validate"/>).</exception>
    public RetentionPlanner(RetentionPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        _policy = policy;
        BuildCutoff = policy.BuildHorizon is { } b ? now - b : null;
        LogCutoff = policy.LogHorizon is { } l ? now - l : null;
    }

    /// <summary>Gets the time before which (strictly) a finished build is deleted, or <see langword="null"/> when the
    /// policy has no build horizon. A backend may use it to narrow what it reads.</summary>
    public DateTimeOffset? BuildCutoff { get; }

    /// <summary>Gets the time before which (strictly) a kept build loses its logs, or <see langword="null"/> when the
    /// policy has no log horizon.</summary>
    public DateTimeOffset? LogCutoff { get; }

    /// <summary>
    /// Gets a bound that lets a backend read fewer builds, or <see langword="null"/> when every finished build must be
    /// passed to <see cref="Classify"/> (the policy has a per-builder count, which ranks them all). When set (the
    /// policy has horizons only), only builds that finished strictly before it can be due, and a backend may pass
    /// only those, still builder by builder and numbers descending.
    /// </summary>
    public DateTimeOffset? FinishedBefore =>
        _policy.MaxBuildsPerBuilder is not null || _policy.MaxLogBuildsPerBuilder is not null ? null
        : BuildCutoff is { } b && LogCutoff is { } l ? (b > l ? b : l)
        : BuildCutoff ?? LogCutoff;

    /// <summary>Gets whether the policy can delete anything at all (<see cref="RetentionPolicy.IsEnabled"/>); when
    /// not, a backend need not read its builds.</summary>
    public bool IsEnabled => _policy.IsEnabled;

    /// <summary>
    /// Decides what happens to the next finished build. Call it for every finished build of a builder, numbers
    /// descending, one builder after the other (any builder order).
    /// </summary>
    /// <param name="build">The build's key.</param>
    /// <param name="finishedAt">When it finished.</param>
    /// <returns>What to do with the build.</returns>
    /// <exception cref="ArgumentException">The key's builder name is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The builds are not in the required order: a number that is not below
    /// the previous one of the same builder, or a builder that was already finished with.</exception>
    public RetentionAction Classify(BuildKey build, DateTimeOffset finishedAt)
    {
        if (build.BuilderName is null)
        {
            throw new ArgumentException("The key's builder name is null.", nameof(build));
        }

        if (!string.Equals(build.BuilderName, _builder, StringComparison.Ordinal))
        {
            if (_builder is not null)
            {
                _done.Add(_builder);
            }

            if (_done.Contains(build.BuilderName))
            {
                throw new InvalidOperationException($"The finished builds of builder '{build.BuilderName}' must be classified together; it came again at build {build}.");
            }

            _builder = build.BuilderName;
            _rank = 0;
        }
        else if (build.Number >= _lastNumber)
        {
            throw new InvalidOperationException($"Finished builds must be classified by number descending; build {build} came after number {_lastNumber}.");
        }

        _lastNumber = build.Number;
        var rank = _rank++;
        if (finishedAt < BuildCutoff || rank >= _policy.MaxBuildsPerBuilder)
        {
            return RetentionAction.DeleteBuild;
        }

        return finishedAt < LogCutoff || rank >= _policy.MaxLogBuildsPerBuilder ? RetentionAction.DeleteLogs : RetentionAction.Keep;
    }
}
