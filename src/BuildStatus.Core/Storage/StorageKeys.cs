namespace BuildStatus.Storage;

#pragma warning disable SA1402, MA0048 // Small key types read together.

/// <summary>Identifies a stored build.</summary>
/// <param name="BuilderName">The builder name.</param>
/// <param name="Number">The build number.</param>
public readonly record struct BuildKey(string BuilderName, int Number)
{
    /// <summary>Returns the key as error messages and logs show it, such as <c>linux #12</c>.</summary>
    /// <returns>The builder name and the number.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{BuilderName} #{Number}");
}

/// <summary>Identifies a stored step.</summary>
/// <param name="BuilderName">The builder name.</param>
/// <param name="BuildNumber">The build number.</param>
/// <param name="StepNumber">The step number within the build.</param>
public readonly record struct StepKey(string BuilderName, int BuildNumber, int StepNumber)
{
    /// <summary>Gets the key of the step's build.</summary>
    public BuildKey Build => new(BuilderName, BuildNumber);

    /// <summary>Returns the key as error messages and logs show it, such as <c>linux #12 step 3</c>.</summary>
    /// <returns>The builder name, the build number and the step number.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{BuilderName} #{BuildNumber} step {StepNumber}");
}

/// <summary>Identifies a stored log.</summary>
/// <param name="BuilderName">The builder name.</param>
/// <param name="BuildNumber">The build number.</param>
/// <param name="StepNumber">The step number within the build.</param>
/// <param name="LogNumber">The log number within the step.</param>
public readonly record struct LogKey(string BuilderName, int BuildNumber, int StepNumber, int LogNumber)
{
    /// <summary>Gets the key of the log's step.</summary>
    public StepKey Step => new(BuilderName, BuildNumber, StepNumber);

    /// <summary>Returns the key as error messages and logs show it, such as <c>linux #12 step 3 log 1</c>.</summary>
    /// <returns>The builder name, the build, step and log numbers.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{BuilderName} #{BuildNumber} step {StepNumber} log {LogNumber}");
}
#pragma warning restore SA1402, MA0048
