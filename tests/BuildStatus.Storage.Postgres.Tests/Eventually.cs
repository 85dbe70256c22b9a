using System.Diagnostics;

namespace BuildStatus.Storage.Postgres.Tests;

/// <summary>Bounded waits for what other threads, hosts or processes do: a condition polled until it holds or the limit passes.</summary>
internal static class Eventually
{
    /// <summary>Polls <paramref name="probe"/> every 50 ms until it returns a value; fails the test after <paramref name="limit"/>.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan limit)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.That(clock.Elapsed, Is.LessThan(limit), "not reached in time");
            await Task.Delay(50);
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; fails the test with <paramref name="what"/> after <paramref name="limit"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.That(clock.Elapsed, Is.LessThan(limit), what);
            await Task.Delay(20);
        }
    }
}
