using System.Diagnostics;
using BuildStatus.Reliability.Tests.Support;
using BuildStatus.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BuildStatus.Reliability.Tests;

/// <summary>
/// Real SQLite failure conditions, not simulated: an immutable database file (<c>chattr +i</c>, because the tests
/// run as root and root ignores permission bits), a write lock held by another connection, and a full disk (a
/// small tmpfs). Each gives a clear error, leaves the file intact, and writing resumes when the condition ends.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class SqliteFaultTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    [CancelAfter(120_000)]
    public async Task ImmutableDatabaseFile_WritesFailClearly_AndResumeWhenWritable(CancellationToken cancellationToken)
    {
        using var dir = new TempDir();
        var db = dir.File("ro.db");
        var files = new[] { db, db + "-wal" };
        var restored = false;
        await using var host = await RelHost.SqliteAsync(db, o => o.MaxWriteAttempts = 3);
        await host.RunNormalBuildAsync(timeout: Timeout);
        var build = await host.Host.AddBuilder("ro").StartBuildAsync(cancellationToken: cancellationToken);
        var log = build.AddStep("s").AddLog("stdio");
        await host.Host.FlushAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);

        // Not the -shm file: SQLite maps it, and an immutable mapping kills the process with SIGBUS.
        Assume.That(Run("chattr", ["+i", .. files]), Is.Zero, "chattr +i is not available here");
        try
        {
            for (var i = 0; i < 50; i++)
            {
                await log.AppendLineAsync(LogChannel.Stdout, "while read-only " + i, cancellationToken);
            }

            var finish = build.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken);
            var error = Assert.ThrowsAsync<BuildStoreException>(async () => await finish.WaitAsync(Timeout, cancellationToken));
            Assert.That(error!.InnerException, Is.InstanceOf<SqliteException>(), error.ToString());
            TestContext.Out.WriteLine("read-only error: " + error.InnerException!.Message);
            Assert.ThrowsAsync<BuildStoreException>(async () => await host.Host.AddBuilder("ro2").StartBuildAsync(cancellationToken: cancellationToken), "a build cannot start on a read-only file");
            Assert.That((await host.HealthAsync()).Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(build.Result, Is.EqualTo(BuildResult.Success), "status still works");
        }
        finally
        {
            restored = Run("chattr", ["-i", .. files]) == 0;
        }

        Assert.That(restored, Is.True);
        await BackendFaultTests.WaitUntilAsync(async () => (await host.HealthAsync()).Status == HealthStatus.Healthy, cancellationToken);
        await host.RunNormalBuildAsync(timeout: Timeout);
        await AssertStoredAsync(host, "ro", build.Number, 50, cancellationToken);
        Assert.That(DbVerifier.IntegrityCheck(db), Is.EqualTo("ok"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task WriteLockHeldLongerThanBusyTimeout_CommitsRetry_AndLandWhenReleased(CancellationToken cancellationToken)
    {
        using var dir = new TempDir();
        var db = dir.File("busy.db");
        await using var host = await RelHost.SqliteAsync(db, o => o.MaxWriteAttempts = 1000, sqlite: s => s.BusyTimeout = TimeSpan.FromMilliseconds(200));
        await host.RunNormalBuildAsync(timeout: Timeout);
        var build = await host.Host.AddBuilder("busy").StartBuildAsync(cancellationToken: cancellationToken);
        var log = build.AddStep("s").AddLog("stdio");
        await host.Host.FlushAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);

        var blocker = new SqliteConnection($"Data Source={db};Pooling=False;Default Timeout=1");
        await using (blocker)
        {
            blocker.Open();
            using (var begin = blocker.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE";
                begin.ExecuteNonQuery();
            }

            for (var i = 0; i < 50; i++)
            {
                await log.AppendLineAsync(LogChannel.Stdout, "while locked " + i, cancellationToken);
            }

            var finish = build.FinishAsync(BuildResult.Warnings, cancellationToken: cancellationToken);
            await BackendFaultTests.WaitUntilAsync(async () => (await host.HealthAsync()).Status != HealthStatus.Healthy, cancellationToken);
            var health = await host.HealthAsync();
            Assert.That(health.Exception, Is.InstanceOf<SqliteException>().With.Property("SqliteErrorCode").EqualTo(5), "SQLITE_BUSY: " + health.Exception);
            Assert.That(finish.IsCompleted, Is.False, "not durable while another connection holds the write lock");
            // Starting a build needs the write lock to allocate its number: it retries with backoff meanwhile.
            var start = host.Host.AddBuilder("busy2").StartBuildAsync(cancellationToken: cancellationToken);
            await Task.Delay(300, cancellationToken);
            Assert.That(start.IsCompleted, Is.False, "a build start waits (retrying) while the write lock is held");

            // Reads are not blocked by the writer lock (WAL).
            Assert.That(await host.Host.History.GetBuildAsync("busy", build.Number, cancellationToken), Is.Not.Null);
            using (var rollback = blocker.CreateCommand())
            {
                rollback.CommandText = "ROLLBACK";
                rollback.ExecuteNonQuery();
            }

            await finish.WaitAsync(Timeout, cancellationToken);
            var started = await start.WaitAsync(Timeout, cancellationToken);
            Assert.That(started.Number, Is.EqualTo(1), "the retried start succeeds once the lock is released");
            await started.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken).WaitAsync(Timeout, cancellationToken);
        }

        await AssertStoredAsync(host, "busy", build.Number, 50, cancellationToken);
        await host.RunNormalBuildAsync(timeout: Timeout);
        Assert.That(DbVerifier.IntegrityCheck(db), Is.EqualTo("ok"));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task DiskFull_CommitsFailWithSqliteFull_NoCorruption_AndQueuedWritesLandWhenSpaceReturns(CancellationToken cancellationToken)
    {
        using var dir = new TempDir();
        var mountPoint = dir.File("tmpfs");
        Directory.CreateDirectory(mountPoint);
        Assume.That(Run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]), Is.Zero, "cannot mount a tmpfs here (needs root)");
        try
        {
            var db = Path.Combine(mountPoint, "full.db");
            var host = await RelHost.SqliteAsync(db, o => o.MaxWriteAttempts = 1000, sqlite: s => s.Compression = Storage.Sqlite.LogCompression.None);
            await using (host)
            {
                await host.RunNormalBuildAsync(timeout: Timeout);
                var build = await host.Host.AddBuilder("full").StartBuildAsync(cancellationToken: cancellationToken);
                var log = build.AddStep("s").AddLog("stdio");
                var rng = new Random(7);
                var line = 0;

                // Fill the disk: incompressible lines until commits fail.
                while ((await host.HealthAsync()).Status == HealthStatus.Healthy)
                {
                    for (var i = 0; i < 20; i++, line++)
                    {
                        await log.AppendLineAsync(LogChannel.Stdout, line + " " + Convert.ToHexString(RandomBytes(rng, 400)), cancellationToken).AsTask().WaitAsync(Timeout, cancellationToken);
                    }

                    await Task.WhenAny(host.Host.FlushAsync(cancellationToken), Task.Delay(50, cancellationToken));
                    Assert.That(line, Is.LessThan(20_000), "the 1 MiB disk never filled");
                }

                var health = await host.HealthAsync();
                Assert.That(health.Exception, Is.InstanceOf<SqliteException>().With.Property("SqliteErrorCode").EqualTo(13), "SQLITE_FULL: " + health.Exception);
                TestContext.Out.WriteLine($"disk full after {line} lines: {health.Exception!.Message}");
                for (var i = 0; i < 100; i++, line++)
                {
                    await log.AppendLineAsync(LogChannel.Stdout, line + " queued while full", cancellationToken);
                }

                var finish = build.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken);
                Assert.That(finish.IsCompleted, Is.False);

                Assert.That(Run("mount", ["-o", "remount,size=64m", mountPoint]), Is.Zero, "grow the tmpfs");
                await finish.WaitAsync(Timeout, cancellationToken);
                await AssertStoredAsync(host, "full", build.Number, line, cancellationToken);
                await host.RunNormalBuildAsync(timeout: Timeout);
            }

            SqliteConnection.ClearAllPools();
            Assert.That(DbVerifier.IntegrityCheck(db), Is.EqualTo("ok"));
            DbVerifier.AssertChunksContiguous(db);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Run("umount", [mountPoint]);
        }
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var bytes = new byte[n];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static async Task AssertStoredAsync(RelHost host, string builder, int number, int lines, CancellationToken cancellationToken)
    {
        var stored = await host.Host.History.GetBuildAsync(builder, number, cancellationToken);
        Assert.That(stored?.IsFinished, Is.True, $"{builder} #{number} stored as finished");
        var log = (await (await stored!.GetStepsAsync(cancellationToken))[0].GetLogsAsync(cancellationToken))[0];
        var read = await log.ReadLinesAsync(cancellationToken: cancellationToken);
        Assert.That(read, Has.Count.EqualTo(lines), "every line queued during the fault is stored");
        Assert.That(read.Select(l => l.Number), Is.EqualTo(Enumerable.Range(0, lines).Select(i => (long)i)));
    }

    internal static int Run(string file, string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            using var p = System.Diagnostics.Process.Start(info)!;
            p.WaitForExit(30_000);
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
