using System.Runtime.CompilerServices;
using BuildStatus.Process;
using BuildStatus.Storage;

namespace BuildStatus.Persistence;

/// <summary>The history root: wraps the store's records in persistent objects.</summary>
internal sealed class BuildHistory : IBuildHistory
{
    private readonly HostContext _ctx;

    public BuildHistory(HostContext ctx)
    {
        _ctx = ctx;
    }

    public async Task<IReadOnlyList<IPersistentBuilder>> GetBuildersAsync(CancellationToken cancellationToken = default)
    {
        var builders = await _ctx.Store.GetBuildersAsync(cancellationToken).ConfigureAwait(false);
        return builders.Select(b => (IPersistentBuilder)new PersistentBuilder(b, _ctx)).ToArray();
    }

    public async Task<IPersistentBuilder?> GetBuilderAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var builder = await _ctx.Store.GetBuilderAsync(name, cancellationToken).ConfigureAwait(false);
        return builder is null ? null : new PersistentBuilder(builder, _ctx);
    }

    public async Task<IReadOnlyList<IPersistentWorker>> GetWorkersAsync(CancellationToken cancellationToken = default)
    {
        var workers = await _ctx.Store.GetWorkersAsync(cancellationToken).ConfigureAwait(false);
        return workers.Select(w => (IPersistentWorker)new PersistentWorker(w)).ToArray();
    }

    public async Task<IPersistentWorker?> GetWorkerAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var worker = await _ctx.Store.GetWorkerAsync(name, cancellationToken).ConfigureAwait(false);
        return worker is null ? null : new PersistentWorker(worker);
    }

    public async Task<IPersistentBuild?> GetBuildAsync(string builderName, int number, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builderName);
        var build = await _ctx.Store.GetBuildAsync(new Storage.BuildKey(builderName, number), cancellationToken).ConfigureAwait(false);
        return build is null ? null : new PersistentBuild(build, _ctx);
    }

    public Task<IReadOnlyList<StoredBuildRequest>> GetRequestsAsync(string? builderName = null, BuildRequestState? state = null, CancellationToken cancellationToken = default)
    {
        if (state is { } s && !Enum.IsDefined(s))
        {
            throw new ArgumentOutOfRangeException(nameof(state), s, "Not a defined BuildRequestState value.");
        }

        return _ctx.Store is IBuildInstanceStore { SupportsInstances: true } instances
            ? instances.GetRequestsAsync(builderName, state, cancellationToken)
            : Task.FromResult<IReadOnlyList<StoredBuildRequest>>([]);
    }

    public async Task<IReadOnlyList<IPersistentBuild>> GetRunningBuildsAsync(CancellationToken cancellationToken = default)
    {
        var store = _ctx.Store;
        var running = new List<StoredBuild>();
        if (store is IBuildInstanceStore { SupportsInstances: true } instances)
        {
            foreach (var instance in await instances.GetInstancesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (instance.StoppedAt is null && instance.ClaimedBy is null)
                {
                    running.AddRange(await instances.GetUnfinishedBuildsOfInstanceAsync(instance.Id, cancellationToken).ConfigureAwait(false));
                }
            }
        }
        else
        {
            foreach (var builder in await store.GetBuildersAsync(cancellationToken).ConfigureAwait(false))
            {
                var query = new BuildQuery(builder.Name) { Finished = false, Limit = BuildQuery.MaxLimit };
                while (true)
                {
                    var page = await store.QueryBuildsAsync(query, cancellationToken).ConfigureAwait(false);
                    running.AddRange(page);
                    if (page.Count < query.Limit)
                    {
                        break;
                    }

                    query = query with { BeforeNumber = page[^1].Number };
                }
            }
        }

        running.Sort(static (a, b) =>
        {
            var c = string.CompareOrdinal(a.BuilderName, b.BuilderName);
            return c != 0 ? c : a.Number.CompareTo(b.Number);
        });
        var result = new IPersistentBuild[running.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new PersistentBuild(running[i], _ctx);
        }

        return result;
    }

    public async Task<BuildPage> QueryBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();

        // Ask for one build more than the page holds, so Next is null when exactly Limit builds match; at MaxLimit
        // (the most a store is asked for) a full page is followed by a one-build probe instead.
        var probeInline = query.Limit < BuildQuery.MaxLimit;
        var builds = await _ctx.Store.QueryBuildsAsync(probeInline ? query with { Limit = query.Limit + 1 } : query, cancellationToken).ConfigureAwait(false);
        var count = Math.Min(builds.Count, query.Limit);
        var items = new IPersistentBuild[count];
        for (var i = 0; i < count; i++)
        {
            items[i] = new PersistentBuild(builds[i], _ctx);
        }

        var more = builds.Count > query.Limit;
        if (!probeInline && count == query.Limit)
        {
            var probe = await _ctx.Store.QueryBuildsAsync(query with { BeforeNumber = items[^1].Number, Limit = 1 }, cancellationToken).ConfigureAwait(false);
            more = probe.Count > 0;
        }

        return new BuildPage(items, more ? query with { BeforeNumber = items[^1].Number } : null);
    }

    public IAsyncEnumerable<IPersistentBuild> EnumerateBuildsAsync(BuildQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        return EnumerateCoreAsync(query, cancellationToken);
    }

    private async IAsyncEnumerable<IPersistentBuild> EnumerateCoreAsync(BuildQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        BuildQuery? next = query;
        while (next is not null)
        {
            var page = await QueryBuildsAsync(next, cancellationToken).ConfigureAwait(false);
            foreach (var build in page.Builds)
            {
                yield return build;
            }

            next = page.Next;
        }
    }
}
