using System.Diagnostics;

namespace BuildStatus.Reliability.Tests.Support;

/// <summary>Starts BuildStatus.CrashWorker as a child process (<c>dotnet BuildStatus.CrashWorker.dll ...</c>) and kills it.</summary>
internal sealed class CrashWorkerProcess : IDisposable
{
    private readonly System.Diagnostics.Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _stderr = new();

    private CrashWorkerProcess(System.Diagnostics.Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "READY")
            {
                _ready.TrySetResult();
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Task Ready => _ready.Task;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string StdErr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Finds BuildStatus.CrashWorker.dll: built next to this test assembly's output by the project reference.</summary>
    public static string WorkerDll
    {
        get
        {
            var baseDir = AppContext.BaseDirectory;
            var here = Path.GetFullPath(Path.Combine(baseDir, "BuildStatus.CrashWorker.dll"));

            // Prefer the worker's own output folder, which has its runtimeconfig.json; from this project or from the
            // PostgreSQL tests, which link this file.
            var candidates = new[] { "BuildStatus.Reliability.Tests", "BuildStatus.Storage.Postgres.Tests" }
                .Select(project => Path.GetFullPath(Path.Combine(baseDir.Replace(project, "BuildStatus.CrashWorker", StringComparison.Ordinal), "BuildStatus.CrashWorker.dll")))
                .Where(candidate => candidate != here)
                .Append(here)
                .ToArray();
            foreach (var candidate in candidates)
            {
                if (File.Exists(candidate) && File.Exists(Path.ChangeExtension(candidate, ".runtimeconfig.json")))
                {
                    return candidate;
                }
            }

            throw new FileNotFoundException("BuildStatus.CrashWorker.dll with its runtimeconfig.json was not found; build tests/BuildStatus.CrashWorker. Looked in: " + string.Join(", ", candidates));
        }
    }

    /// <summary>Starts a worker on SQLite at <paramref name="db"/>; <paramref name="extraArgs"/> (name/value pairs) may choose another store (<c>--store postgres --pg CONNSTR</c>) or the lease.</summary>
    public static CrashWorkerProcess Start(string db, string journal, int seed, string hostName, int parallel = 3, int? builds = null, params string[] extraArgs)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { WorkerDll, "--db", db, "--journal", journal, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--host", hostName, "--parallel", parallel.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        if (builds is { } n)
        {
            info.ArgumentList.Add("--builds");
            info.ArgumentList.Add(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_TieredPGO"] = "0";

        // No diagnostics IPC (debugger pipes, the diagnostic socket) in a process the test may SIGKILL: the runtime
        // removes them at exit, but a killed process leaves them in the temp directory.
        info.Environment["DOTNET_EnableDiagnostics"] = "0";
        return new CrashWorkerProcess(System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("could not start the crash worker"));
    }

    /// <summary>Waits until the child exits by itself (a run with <c>--builds</c>).</summary>
    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    /// <summary>Kills the child with SIGKILL (Process.Kill on Linux) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
