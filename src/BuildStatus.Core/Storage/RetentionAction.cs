namespace BuildStatus.Storage;

/// <summary>What a <see cref="RetentionPolicy"/> does with one finished build, as <see cref="RetentionPlanner"/> decides it.</summary>
public enum RetentionAction
{
    /// <summary>The build and its logs stay.</summary>
    Keep,

    /// <summary>The build and its steps stay; its logs and their lines are deleted.</summary>
    DeleteLogs,

    /// <summary>The build is deleted with its steps, logs and lines.</summary>
    DeleteBuild,
}
