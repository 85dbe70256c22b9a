namespace BuildStatus;

/// <summary>
/// Selects a builder's builds, newest first (by number), one page at a time. Paging is by key: the next
/// page is the same query with <see cref="BeforeNumber"/> set to the last number of this page
/// (<see cref="BuildPage.Next"/> does it for you), so pages stay stable while builds are added.
/// </summary>
/// <param name="BuilderName">The builder. Required.</param>
public sealed record BuildQuery(string BuilderName)
{
    /// <summary>The largest page size a query may ask for.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Gets the page size. The default is 50; at most <see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = 50;

    /// <summary>Gets the keyset cursor: only builds numbered below this. The default is <see langword="null"/> (from the newest).</summary>
    public int? BeforeNumber { get; init; }

    /// <summary>Gets the results to include, or <see langword="null"/> for any. Unfinished builds never match a result filter.</summary>
    public IReadOnlySet<BuildResult>? Results { get; init; }

    /// <summary>Gets whether to return only finished (<see langword="true"/>) or only unfinished (<see langword="false"/>) builds; <see langword="null"/> for both.</summary>
    public bool? Finished { get; init; }

    /// <summary>
    /// Gets the earliest start time to include (inclusive), or <see langword="null"/>. Start times are whole
    /// microseconds (<see cref="Storage.StorageTime"/>) and the bounds compare exactly, so
    /// <c>build.StartedAt.AddTicks(1)</c> excludes <c>build</c>.
    /// </summary>
    public DateTimeOffset? StartedAtOrAfter { get; init; }

    /// <summary>Gets the start time to stop before (exclusive), or <see langword="null"/>.</summary>
    public DateTimeOffset? StartedBefore { get; init; }

    /// <summary>Gets a branch that one of the build's source stamps must have, or <see langword="null"/>.</summary>
    public string? Branch { get; init; }

    /// <summary>Gets a revision that one of the build's source stamps must have, or <see langword="null"/>.</summary>
    public string? Revision { get; init; }

    /// <summary>Gets a property name that must be set, or <see langword="null"/>.</summary>
    public string? PropertyName { get; init; }

    /// <summary>Gets the value <see cref="PropertyName"/> must have, or <see langword="null"/> for any value.</summary>
    public string? PropertyValue { get; init; }

    /// <summary>Checks the query and throws when it cannot be run.</summary>
    /// <exception cref="ArgumentException">The builder name is empty, the limit is outside 1..<see cref="MaxLimit"/>,
    /// <see cref="BeforeNumber"/> is negative, the time range is reversed, or a property value is given without a name.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(BuilderName, nameof(BuilderName));
        if (Limit is < 1 or > MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(Limit), Limit, $"Limit must be between 1 and {MaxLimit}.");
        }

        if (BeforeNumber is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BeforeNumber), BeforeNumber, "BeforeNumber must not be negative.");
        }

        if (StartedAtOrAfter is { } from && StartedBefore is { } to && from > to)
        {
            throw new ArgumentException($"StartedAtOrAfter ({from:O}) is after StartedBefore ({to:O}).", nameof(StartedAtOrAfter));
        }

        if (PropertyValue is not null && PropertyName is null)
        {
            throw new ArgumentException("PropertyValue needs PropertyName.", nameof(PropertyValue));
        }
    }

    /// <summary>
    /// Returns whether a build matches every filter of the query (not <see cref="BuilderName"/>,
    /// <see cref="BeforeNumber"/> or <see cref="Limit"/>): the filter semantics every backend implements. Branch,
    /// revision and property value compare ordinally; a branch or revision matches when any source stamp has it;
    /// a result filter matches finished builds only; the time range is inclusive at <see cref="StartedAtOrAfter"/>
    /// and exclusive at <see cref="StartedBefore"/>, compared exactly.
    /// </summary>
    /// <param name="build">The build.</param>
    /// <returns><see langword="true"/> when it matches.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="build"/> is <see langword="null"/>.</exception>
    public bool Matches(Storage.StoredBuild build)
    {
        ArgumentNullException.ThrowIfNull(build);
        if (Results is { } results && (build.Result is not { } result || !results.Contains(result)))
        {
            return false;
        }

        if ((Finished is { } finished && build.IsFinished != finished)
            || (StartedAtOrAfter is { } from && build.StartedAt < from)
            || (StartedBefore is { } to && build.StartedAt >= to))
        {
            return false;
        }

        if ((Branch is { } branch && !build.SourceStamps.Any(s => string.Equals(s.Branch, branch, StringComparison.Ordinal)))
            || (Revision is { } revision && !build.SourceStamps.Any(s => string.Equals(s.Revision, revision, StringComparison.Ordinal))))
        {
            return false;
        }

        return PropertyName is not { } name
            || (build.Properties.TryGetValue(name, out var property)
                && (PropertyValue is not { } value || string.Equals(property.Value, value, StringComparison.Ordinal)));
    }
}
