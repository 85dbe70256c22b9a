using System.Runtime.CompilerServices;
using BuildStatus.Process;
using BuildStatus.Storage;

namespace BuildStatus.Persistence;

#pragma warning disable SA1402, MA0048 // The persistent objects are thin wrappers read together.

/// <summary>A stored builder: an immutable snapshot plus navigation through the store.</summary>
internal sealed class PersistentBuilder : IPersistentBuilder
{
    private readonly HostContext _ctx;

    public PersistentBuilder(StoredBuilder record, HostContext ctx)
    {
        Record = record;
        _ctx = ctx;
    }

    public StoredBuilder Record { get; }

    public string Name => Record.Name;

    public string? Description => Record.Description;

    public IReadOnlyList<string> Tags => Record.Tags;

    public Task<BuildPage> QueryBuildsAsync(BuildQuery? query = null, CancellationToken cancellationToken = default)
        => _ctx.Host.HistoryImpl.QueryBuildsAsync((query ?? new BuildQuery(Name)) with { BuilderName = Name }, cancellationToken);

    public Task<IPersistentBuild?> GetBuildAsync(int number, CancellationToken cancellationToken = default)
        => _ctx.Host.HistoryImpl.GetBuildAsync(Name, number, cancellationToken);

    public async Task<IPersistentBuild?> GetLastFinishedBuildAsync(CancellationToken cancellationToken = default)
    {
        var page = await _ctx.Host.HistoryImpl.QueryBuildsAsync(new BuildQuery(Name) { Finished = true, Limit = 1 }, cancellationToken).ConfigureAwait(false);
        return page.Builds.Count > 0 ? page.Builds[0] : null;
    }

    public override string ToString() => $"stored builder '{Name}'";
}

/// <summary>A stored build. <see cref="Adapters.StoredBuildStatus"/> extends it into a read-only <see cref="IBuildStatus"/>.</summary>
internal class PersistentBuild : IPersistentBuild
{
    private readonly HostContext _ctx;

    public PersistentBuild(StoredBuild record, HostContext ctx)
    {
        Record = record;
        _ctx = ctx;
    }

    public StoredBuild Record { get; }

    public string BuilderName => Record.BuilderName;

    public int Number => Record.Number;

    public string HostName => Record.HostName;

    public string? Reason => Record.Reason;

    public IReadOnlyList<SourceStamp> SourceStamps => Record.SourceStamps;

    public IReadOnlyList<BuildChange> Changes => Record.Changes;

    public IReadOnlyList<string> ResponsibleUsers => Record.ResponsibleUsers;

    public string? WorkerName => Record.WorkerName;

    public IReadOnlyDictionary<string, PropertyValue> Properties => Record.Properties;

    public DateTimeOffset StartedAt => Record.StartedAt;

    public DateTimeOffset? FinishedAt => Record.FinishedAt;

    public bool IsFinished => Record.IsFinished;

    public string StateText => Record.StateText;

    public BuildResult? Result => Record.Result;

    public async Task<IReadOnlyList<IPersistentStep>> GetStepsAsync(CancellationToken cancellationToken = default)
    {
        var steps = await _ctx.Store.GetStepsAsync(Record.Key, cancellationToken).ConfigureAwait(false);
        return steps.Select(s => (IPersistentStep)new PersistentStep(s, _ctx)).ToArray();
    }

    public async Task<IPersistentStep?> GetStepAsync(int number, CancellationToken cancellationToken = default)
    {
        var steps = await _ctx.Store.GetStepsAsync(Record.Key, cancellationToken).ConfigureAwait(false);
        var step = steps.FirstOrDefault(s => s.Key.StepNumber == number);
        return step is null ? null : new PersistentStep(step, _ctx);
    }

    public override string ToString() => $"stored build {Number} of builder '{BuilderName}'";
}

/// <summary>A stored step.</summary>
internal class PersistentStep : IPersistentStep
{
    private readonly HostContext _ctx;

    public PersistentStep(StoredStep record, HostContext ctx)
    {
        Record = record;
        _ctx = ctx;
    }

    public StoredStep Record { get; }

    public string BuilderName => Record.Key.BuilderName;

    public int BuildNumber => Record.Key.BuildNumber;

    public int Number => Record.Key.StepNumber;

    public string Name => Record.Name;

    public string StateText => Record.StateText;

    public DateTimeOffset? StartedAt => Record.StartedAt;

    public DateTimeOffset? FinishedAt => Record.FinishedAt;

    public bool IsFinished => Record.IsFinished;

    public BuildResult? Result => Record.Result;

    public IReadOnlyList<StepUrl> Urls => Record.Urls;

    public IReadOnlyDictionary<string, double> Statistics => Record.Statistics;

    public bool IsHidden => Record.IsHidden;

    public async Task<IReadOnlyList<IPersistentLog>> GetLogsAsync(CancellationToken cancellationToken = default)
    {
        var logs = await _ctx.Store.GetLogsAsync(Record.Key, cancellationToken).ConfigureAwait(false);
        return logs.Select(l => (IPersistentLog)new PersistentLog(l, _ctx)).ToArray();
    }

    public override string ToString() => $"stored step '{Name}' of build {BuildNumber} of builder '{BuilderName}'";
}

/// <summary>A stored log, with range reads and the follow stream.</summary>
internal class PersistentLog : IPersistentLog
{
    // How often a log that no live object of this host writes (another host's, or an orphan) is polled, and how
    // long the follow stream waits after a read that found no line although the log counts more.
    internal static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private const int FollowPage = 1000;

    private readonly HostContext _ctx;

    public PersistentLog(StoredLog record, HostContext ctx)
    {
        Record = record;
        _ctx = ctx;
    }

    public StoredLog Record { get; }

    public string BuilderName => Record.Key.BuilderName;

    public int BuildNumber => Record.Key.BuildNumber;

    public int StepNumber => Record.Key.StepNumber;

    public int Number => Record.Key.LogNumber;

    public string Name => Record.Name;

    public LogKind Kind => Record.Kind;

    public bool IsFinished => Record.IsFinished;

    public long LineCount => Record.LineCount;

    public long ByteCount => Record.ByteCount;

    public Task<IReadOnlyList<LogLine>> ReadLinesAsync(long firstLine = 0, int maxLines = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstLine);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLines);
        return _ctx.Store.ReadLogLinesAsync(Record.Key, firstLine, maxLines, cancellationToken);
    }

    public IAsyncEnumerable<LogLine> FollowAsync(long firstLine = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstLine);
        return FollowCoreAsync(firstLine, cancellationToken);
    }

    // Stored lines are the single source of the stream, read by line number, so it can have no gap and no
    // duplicate; a live log of this host wakes it as soon as the writer commits more lines. A read that returns
    // nothing although the log counts more lines (lines missing from storage) is never repeated at once: the
    // stream waits PollInterval first, and ends with a BuildStoreException once the log is finished.
    private async IAsyncEnumerable<LogLine> FollowCoreAsync(long next, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var live = _ctx.Host.AdapterImpl.FindLiveLog(Record.Key);

        // The stored row as read before the last read of lines (no live log); when it says finished, that read saw
        // every line the log will ever have.
        StoredLog? rowBefore = null;
        while (true)
        {
            // Capture the finished flag before reading: if the log was committed as finished before this
            // read, the read sees every line.
            var finishedBefore = live?.CommittedFinished ?? false;
            var lines = await _ctx.Store.ReadLogLinesAsync(Record.Key, next, FollowPage, cancellationToken).ConfigureAwait(false);
            foreach (var line in lines)
            {
                yield return line;
            }

            next += lines.Count;
            if (lines.Count > 0)
            {
                rowBefore = null;
                continue;
            }

            if (live is not null)
            {
                var committed = live.CommittedLines;
                if (finishedBefore)
                {
                    if (next < committed && await _ctx.Store.GetLogAsync(Record.Key, cancellationToken).ConfigureAwait(false) is { } row)
                    {
                        throw MissingLines(next, row.LineCount);
                    }

                    yield break;
                }

                if (next < committed)
                {
                    // Committed but not readable: wait instead of asking again at once.
                    await Task.Delay(PollInterval, _ctx.Time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await live.WaitForCommittedAsync(next, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (rowBefore is { IsFinished: true })
            {
                throw MissingLines(next, rowBefore.LineCount);
            }

            rowBefore = await _ctx.Store.GetLogAsync(Record.Key, cancellationToken).ConfigureAwait(false);
            if (rowBefore is null || (rowBefore.IsFinished && next >= rowBefore.LineCount))
            {
                yield break;
            }

            if (rowBefore.IsFinished)
            {
                // Finished with lines not read yet: read once more (they may have been committed with the finish);
                // if that read is empty too, they are missing.
                continue;
            }

            if (next >= rowBefore.LineCount)
            {
                live = _ctx.Host.AdapterImpl.FindLiveLog(Record.Key);
                if (live is not null)
                {
                    continue;
                }
            }

            // Another host's log (or an orphan), or stored lines not readable yet: poll.
            await Task.Delay(PollInterval, _ctx.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private BuildStoreException MissingLines(long readable, long lineCount) => new(
        $"The {this} is stored as finished with {lineCount} lines, but only {readable} could be read: lines {readable} to {lineCount - 1} are missing from storage.");

    public override string ToString() => $"stored log '{Name}' of step {StepNumber} of build {BuildNumber} of builder '{BuilderName}'";
}

/// <summary>A stored worker.</summary>
internal sealed class PersistentWorker : IPersistentWorker
{
    public PersistentWorker(StoredWorker record)
    {
        Record = record;
    }

    public StoredWorker Record { get; }

    public string Name => Record.Name;

    public string? Host => Record.Host;

    public IReadOnlyDictionary<string, string> Info => Record.Info;

    public bool IsConnected => Record.IsConnected;

    public DateTimeOffset? LastSeen => Record.LastSeen;

    public override string ToString() => $"stored worker '{Name}'";
}
#pragma warning restore SA1402, MA0048
