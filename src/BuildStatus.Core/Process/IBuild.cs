using BuildStatus.Storage;

namespace BuildStatus;

/// <summary>
/// A running build as the CI host drives it. It is its own <see cref="IBuildStatus"/>. Safe to use from
/// several threads; every change updates RAM, publishes an event and queues the storage update without
/// waiting for I/O.
/// </summary>
public interface IBuild : IBuildStatus
{
    /// <summary>Gets the persistent counterpart of this build.</summary>
    IPersistentBuild Persistent { get; }

    /// <summary>Adds a step (not yet started) at the end of the build.</summary>
    /// <param name="name">The step name.</param>
    /// <returns>The new step.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, white space, longer than 200 characters or holds a control character.</exception>
    /// <exception cref="InvalidOperationException">The build has finished, or the host has stopped.</exception>
    IStep AddStep(string name);

    /// <summary>Sets the state text.</summary>
    /// <param name="text">The new text.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The build has finished, or the host has stopped.</exception>
    void SetStateText(string text);

    /// <summary>Sets a property, replacing any earlier value.</summary>
    /// <param name="name">The property name.</param>
    /// <param name="value">The value.</param>
    /// <param name="source">Who set it. The default is <c>"Build"</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, white space, longer than 200 characters or holds a control character.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> or <paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The build has finished, or the host has stopped.</exception>
    void SetProperty(string name, string value, string source = "Build");

    /// <summary>
    /// Finishes the build. Steps still open are finished as <see cref="BuildResult.Cancelled"/> with their logs.
    /// RAM and events are updated at once; the returned task completes when the build and everything in it is
    /// committed to storage.
    /// </summary>
    /// <param name="result">The result; <see langword="null"/> for the worst of the step results (<see cref="BuildResults.Worst(IEnumerable{BuildResult})"/>).</param>
    /// <param name="stateText">The final state text; <see langword="null"/> for the result's name.</param>
    /// <param name="cancellationToken">Stops waiting for durability (the build is finished regardless).</param>
    /// <returns>A task that completes when the build is durable.</returns>
    /// <exception cref="InvalidOperationException">The build has already finished, or the host has stopped.</exception>
    /// <exception cref="Storage.BuildStoreException">Storage failed permanently (the returned task faults with it).</exception>
    Task FinishAsync(BuildResult? result = null, string? stateText = null, CancellationToken cancellationToken = default);
}
