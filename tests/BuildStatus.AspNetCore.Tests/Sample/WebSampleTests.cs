using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace BuildStatus.AspNetCore.Tests.Sample;

/// <summary>
/// Runs the web sample (samples/BuildStatus.Web, the README's command) as a user would: on a free port, with its
/// builds, then stops it with Ctrl+C (SIGINT) and checks that it exits cleanly.
/// </summary>
[TestFixture]
[NonParallelizable] // runs real builds in a child process; keep it off the other tests' cores
public sealed partial class WebSampleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    [CancelAfter(180_000)]
    [Platform(Exclude = "Win")]
    public async Task WebSample_PortOptionThenCtrlC_ServesThePageRunsBuildsAndExitsCleanly(CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("buildstatus-web-sample-");
        try
        {
            using var process = Start(dir.FullName, "--port", "0", "--db", Path.Combine(dir.FullName, "web.db"));
            var output = new StringBuilder();
            var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (output)
                {
                    output.AppendLine(e.Data);
                }

                if (PageLine().Match(e.Data) is { Success: true } m)
                {
                    address.TrySetResult(new Uri(m.Groups[1].Value));
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var page = await address.Task.WaitAsync(Timeout, cancellationToken);
            using var http = new HttpClient { BaseAddress = page };
            using var shell = await http.GetAsync(page, cancellationToken);
            Assert.That(shell.StatusCode, Is.EqualTo(HttpStatusCode.OK));

            // The sample's builders run builds continuously: wait until one has finished.
            var deadline = DateTime.UtcNow + Timeout;
            while (true)
            {
                var status = JsonNode.Parse(await http.GetStringAsync(new Uri(page, "api/status"), cancellationToken))!;
                var builders = status["builders"]!.AsArray();
                Assert.That(builders.Select(b => (string?)b!["name"]), Is.SupersetOf(new[] { "hello", "checks", "flaky" }));
                if (builders.Any(b => b!["recentBuilds"]!.AsArray().Count > 0))
                {
                    break;
                }

                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "no build finished");
                await Task.Delay(200, cancellationToken);
            }

            // Ctrl+C.
            using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(cancellationToken);
            }

            await process.WaitForExitAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);
            string text;
            lock (output)
            {
                text = output.ToString();
            }

            Assert.That(process.ExitCode, Is.EqualTo(0), text);
            Assert.That(text, Does.Contain("Stopped: running builds were recorded as cancelled."));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [TestCase("--port", "abc")]
    [TestCase("--port", "70000")]
    public async Task WebSample_BadPort_ExitsWithCode2AndAMessage(params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("buildstatus-web-sample-");
        try
        {
            using var process = Start(dir.FullName, args);
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(Timeout);

            Assert.That(process.ExitCode, Is.EqualTo(2));
            Assert.That(error, Does.Contain("error: --port"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static System.Diagnostics.Process Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "BuildStatus.Web.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return System.Diagnostics.Process.Start(info)!;
    }

    [GeneratedRegex(@"BuildStatus page: (http://127\.0\.0\.1:\d+/ci/)")]
    private static partial Regex PageLine();
}
