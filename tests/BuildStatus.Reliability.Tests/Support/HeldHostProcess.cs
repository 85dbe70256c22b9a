using System.Diagnostics;
using System.Threading.Channels;

namespace BuildStatus.Reliability.Tests.Support;

/// <summary>A child host in the worker's <c>--hold</c> mode: one build held open, commands on standard input, and SIGSTOP/SIGCONT/SIGKILL.</summary>
internal sealed class HeldHostProcess : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly System.Diagnostics.Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();

    private HeldHostProcess(System.Diagnostics.Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Writer.TryWrite(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public int BuildNumber { get; private set; }

    /// <summary>Starts a held host on SQLite at <paramref name="db"/>, or on the store <paramref name="storeArgs"/> name (<c>--store postgres --pg CONNSTR</c>).</summary>
    public static async Task<HeldHostProcess> StartAsync(string db, string hostName, int leaseMs, int heartbeatMs, params string[] storeArgs)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in new[] { CrashWorkerProcess.WorkerDll, "--hold", db, hostName, leaseMs.ToString(System.Globalization.CultureInfo.InvariantCulture), heartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(storeArgs))
        {
            info.ArgumentList.Add(arg);
        }

        // As CrashWorkerProcess: a killed process would leave its diagnostics pipes and socket in the temp directory.
        info.Environment["DOTNET_EnableDiagnostics"] = "0";
        var held = new HeldHostProcess(System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("could not start the worker"));
        await held.ExpectAsync("READY");
        var build = await held.ExpectAsync("BUILD ");
        held.BuildNumber = int.Parse(build["BUILD ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return held;
    }

    /// <summary>Sends a command and returns the next line it prints.</summary>
    public async Task<string> SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        return await _lines.Reader.ReadAsync().AsTask().WaitAsync(Limit);
    }

    public void Signal(string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(Limit);
    }

    private async Task<string> ExpectAsync(string prefix)
    {
        while (true)
        {
            var line = await _lines.Reader.ReadAsync().AsTask().WaitAsync(Limit);
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                Signal("CONT");
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Gone.
        }

        _process.Dispose();
    }
}
