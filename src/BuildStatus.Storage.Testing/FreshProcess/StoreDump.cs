using System.Text;
using System.Text.Json;

namespace BuildStatus.Storage.Testing.FreshProcess;

/// <summary>
/// Everything a store returns, as text: builders, workers, every build of every builder (newest first), their steps,
/// logs and lines, one JSON row a line, dictionaries sorted by key (their order is not part of the contract). Two
/// stores hold the same history exactly when their dumps are equal.
/// </summary>
internal static class StoreDump
{
    public static async Task<string> WriteAsync(IBuildStore store, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        var builders = await store.GetBuildersAsync(cancellationToken);
        foreach (var builder in builders)
        {
            Row("builder", builder);
        }

        foreach (var worker in await store.GetWorkersAsync(cancellationToken))
        {
            Row("worker", worker with { Info = Sorted(worker.Info) });
        }

        foreach (var builder in builders)
        {
            BuildQuery? query = new(builder.Name) { Limit = BuildQuery.MaxLimit };
            while (query is not null)
            {
                var page = await store.QueryBuildsAsync(query, cancellationToken);
                foreach (var build in page)
                {
                    Row("build", build with { Properties = Sorted(build.Properties) });
                    foreach (var step in await store.GetStepsAsync(build.Key, cancellationToken))
                    {
                        Row("step", step with { Statistics = Sorted(step.Statistics) });
                        foreach (var log in await store.GetLogsAsync(step.Key, cancellationToken))
                        {
                            Row("log", log);
                            foreach (var line in await store.ReadLogLinesAsync(log.Key, 0, int.MaxValue, cancellationToken))
                            {
                                Row("line", line);
                            }
                        }
                    }
                }

                query = page.Count == query.Limit ? query with { BeforeNumber = page[^1].Number } : null;
            }
        }

        return text.ToString();

        static SortedDictionary<string, T> Sorted<T>(IReadOnlyDictionary<string, T> values) => new(values.ToDictionary(), StringComparer.Ordinal);

        void Row<T>(string kind, T row) => text.Append(kind).Append(' ').Append(JsonSerializer.Serialize(row)).Append('\n');
    }
}
