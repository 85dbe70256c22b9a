namespace BuildStatus;

/// <summary>Operations on <see cref="BuildResult"/> values.</summary>
public static class BuildResults
{
    // Badness rank, indexed by the enum value. Buildbot's worst_status order, from best to worst:
    // Skipped < Success < Warnings < Failure < Exception < Retry < Cancelled.
    private static readonly int[] Rank = [1, 2, 3, 0, 4, 5, 6];

    /// <summary>
    /// Returns the worse of two results, using Buildbot's ranking
    /// (<c>Skipped &lt; Success &lt; Warnings &lt; Failure &lt; Exception &lt; Retry &lt; Cancelled</c>).
    /// This is how step results combine into a build result.
    /// </summary>
    /// <param name="first">One result.</param>
    /// <param name="second">The other result.</param>
    /// <returns>The worse of the two.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Either value is not a defined <see cref="BuildResult"/>.</exception>
    public static BuildResult Worst(BuildResult first, BuildResult second)
        => GetRank(first) >= GetRank(second) ? first : second;

    /// <summary>Returns the worst of a sequence of results, or <see cref="BuildResult.Success"/> when it is empty.</summary>
    /// <param name="results">The results to combine.</param>
    /// <returns>The worst result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="results"/> is <see langword="null"/>.</exception>
    public static BuildResult Worst(IEnumerable<BuildResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var worst = BuildResult.Success;
        var any = false;
        foreach (var result in results)
        {
            worst = any ? Worst(worst, result) : result;
            any = true;
        }

        return any ? worst : BuildResult.Success;
    }

    /// <summary>
    /// Returns the badness rank of a result: 0 for <see cref="BuildResult.Skipped"/> up to 6 for
    /// <see cref="BuildResult.Cancelled"/>.
    /// </summary>
    /// <param name="result">The result.</param>
    /// <returns>Its rank; a higher rank is worse.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="result"/> is not a defined value.</exception>
    public static int GetRank(BuildResult result)
    {
        var index = (int)result;
        if ((uint)index >= (uint)Rank.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(result), result, "Not a defined BuildResult value.");
        }

        return Rank[index];
    }

    /// <summary>Whether the result counts as a pass (<see cref="BuildResult.Success"/>, <see cref="BuildResult.Warnings"/> or <see cref="BuildResult.Skipped"/>).</summary>
    /// <param name="result">The result.</param>
    /// <returns><see langword="true"/> for a passing result.</returns>
    public static bool IsPassing(BuildResult result)
        => result is BuildResult.Success or BuildResult.Warnings or BuildResult.Skipped;
}
