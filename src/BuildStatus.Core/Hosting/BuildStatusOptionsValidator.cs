using Microsoft.Extensions.Options;

namespace BuildStatus.Hosting;

/// <summary>Validates <see cref="BuildStatusOptions"/>; messages say what was wrong and what is allowed.</summary>
internal sealed class BuildStatusOptionsValidator : IValidateOptions<BuildStatusOptions>
{
    public ValidateOptionsResult Validate(string? name, BuildStatusOptions options)
    {
        var failures = Check(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static List<string> Check(BuildStatusOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.HostName))
        {
            failures.Add("BuildStatusOptions.HostName must not be empty.");
        }
        else if (options.HostName.Length > Internal.Guard.MaxNameLength)
        {
            failures.Add($"BuildStatusOptions.HostName is {options.HostName.Length} characters long; at most {Internal.Guard.MaxNameLength} are allowed.");
        }

        Range(failures, nameof(options.RecentBuildsPerBuilder), options.RecentBuildsPerBuilder, 0, 10_000);
        Range(failures, nameof(options.LogTailLines), options.LogTailLines, 0, 100_000);
        if (options.MaxQueueBytes < 64 * 1024)
        {
            failures.Add($"BuildStatusOptions.MaxQueueBytes is {options.MaxQueueBytes}; it must be at least 65536 (64 KiB).");
        }

        Range(failures, nameof(options.MaxBatchSize), options.MaxBatchSize, 1, 1_000_000);
        Range(failures, nameof(options.MaxBatchBytes), options.MaxBatchBytes, 1024, int.MaxValue);
        Range(failures, nameof(options.LogChunkMaxLines), options.LogChunkMaxLines, 1, 1_000_000);
        Range(failures, nameof(options.LogChunkMaxBytes), options.LogChunkMaxBytes, 256, 64 * 1024 * 1024);
        if (options.MaxLogBytes < 0)
        {
            failures.Add($"BuildStatusOptions.MaxLogBytes is {options.MaxLogBytes}; use 0 for no limit or a positive size.");
        }

        Range(failures, nameof(options.MaxLogTailBytes), options.MaxLogTailBytes, 0, int.MaxValue);
        Positive(failures, nameof(options.HeartbeatInterval), options.HeartbeatInterval);
        Positive(failures, nameof(options.OtherHostsPollInterval), options.OtherHostsPollInterval);
        if (options.LeaseDuration <= options.HeartbeatInterval)
        {
            failures.Add($"BuildStatusOptions.LeaseDuration is {options.LeaseDuration}; it must be longer than HeartbeatInterval ({options.HeartbeatInterval}), or every instance would expire between two renewals.");
        }

        if (options.Randomizer is null)
        {
            failures.Add("BuildStatusOptions.Randomizer is null; leave the default or set a function returning a value in [0, 1).");
        }

        Range(failures, nameof(options.MaxLineLength), options.MaxLineLength, 16, 16 * 1024 * 1024);
        Range(failures, nameof(options.SubscriberBufferCapacity), options.SubscriberBufferCapacity, 16, 100_000_000);
        Range(failures, nameof(options.SubscriberBufferBytes), options.SubscriberBufferBytes, 64 * 1024, long.MaxValue);
        Range(failures, nameof(options.MaxWriteAttempts), options.MaxWriteAttempts, 1, 1000);
        Range(failures, nameof(options.EtaHistorySize), options.EtaHistorySize, 1, 1000);
        Positive(failures, nameof(options.RetryBaseDelay), options.RetryBaseDelay);
        Positive(failures, nameof(options.RetryMaxDelay), options.RetryMaxDelay);
        Positive(failures, nameof(options.StopTimeout), options.StopTimeout);
        Positive(failures, nameof(options.RetentionInterval), options.RetentionInterval);
        if (options.GroupCommitDelay < TimeSpan.Zero || options.GroupCommitDelay > TimeSpan.FromSeconds(1))
        {
            failures.Add($"BuildStatusOptions.GroupCommitDelay is {options.GroupCommitDelay}; it must be between 0 (off) and 1 second.");
        }

        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            failures.Add($"BuildStatusOptions.RetryMaxDelay ({options.RetryMaxDelay}) must not be shorter than RetryBaseDelay ({options.RetryBaseDelay}).");
        }

        if (options.Retention is null)
        {
            failures.Add("BuildStatusOptions.Retention must not be null; use new RetentionPolicy() to keep everything.");
        }
        else
        {
            try
            {
                options.Retention.Validate();
            }
            catch (ArgumentOutOfRangeException ex)
            {
                failures.Add($"BuildStatusOptions.Retention: {ex.Message}");
            }
        }

        return failures;
    }

    private static void Range(List<string> failures, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            failures.Add($"BuildStatusOptions.{name} is {value}; it must be between {min} and {max}.");
        }
    }

    private static void Positive(List<string> failures, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"BuildStatusOptions.{name} is {value}; it must be positive.");
        }
    }
}
