using System.Text;

namespace BuildStatus.Bench;

/// <summary>
/// The deterministic content of workload W1: names, results and the text of every log line, computed from
/// (build index, step, line) so that the read-back check can regenerate what was written without keeping it.
/// </summary>
public static class WorkloadText
{
    public const int BuilderCount = 10;
    public const int StepsPerBuild = 5;
    public const int LinesPerLog = 200;
    public const int LinesPerAppend = 20;
    public const int LineLength = 80;

    // The line prefix "[bbbbbbb.s.lll] " makes every line unique; the rest comes from a pool of
    // compiler-like phrases, so the text compresses like a real build log (not like random bytes).
    private const int PrefixLength = 16;
    private static readonly string[] Body = CreateBodies(4096);

    public static string BuilderName(int builder) => $"builder-{builder:D2}";

    public static int BuilderOf(int buildIndex) => buildIndex % BuilderCount;

    public static string StepName(int step) => step switch
    {
        0 => "checkout",
        1 => "configure",
        2 => "compile",
        3 => "test",
        _ => "upload",
    };

    /// <summary>Step results are mostly Success, with Warnings, Failure and Skipped mixed in.</summary>
    public static BuildResult StepResult(int buildIndex, int step)
    {
        var h = Hash(buildIndex, step, 7) % 100;
        return h switch
        {
            < 80 => BuildResult.Success,
            < 90 => BuildResult.Warnings,
            < 96 => BuildResult.Failure,
            _ => BuildResult.Skipped,
        };
    }

    /// <summary>The build's result: the worst of its steps, except every 50th build, which ends in Exception.</summary>
    public static BuildResult BuildResultOf(int buildIndex)
    {
        if (buildIndex % 50 == 49)
        {
            return BuildResult.Exception;
        }

        var worst = StepResult(buildIndex, 0);
        for (var s = 1; s < StepsPerBuild; s++)
        {
            worst = BuildResults.Worst(worst, StepResult(buildIndex, s));
        }

        return worst;
    }

    /// <summary>Writes line <paramref name="line"/> of step <paramref name="step"/> of build <paramref name="buildIndex"/> (exactly 80 ASCII chars).</summary>
    public static void WriteLine(Span<char> destination, int buildIndex, int step, int line)
    {
        destination[0] = '[';
        Digits(destination.Slice(1, 7), buildIndex);
        destination[8] = '.';
        destination[9] = (char)('0' + step);
        destination[10] = '.';
        Digits(destination.Slice(11, 3), line);
        destination[14] = ']';
        destination[15] = ' ';
        Body[Hash(buildIndex, step, line) % (uint)Body.Length].AsSpan().CopyTo(destination[PrefixLength..LineLength]);
    }

    public static string Line(int buildIndex, int step, int line) =>
        string.Create(LineLength, (buildIndex, step, line), static (span, s) => WriteLine(span, s.buildIndex, s.step, s.line));

    /// <summary>The length of one append call's text: 20 lines of 80 chars, each ended by '\n'.</summary>
    public const int AppendLength = LinesPerAppend * (LineLength + 1);

    /// <summary>
    /// Writes the text of one append call, lines <paramref name="firstLine"/>.. +20 each ended by '\n', into the first
    /// <see cref="AppendLength"/> chars of <paramref name="destination"/> (a host's reused pipe buffer).
    /// </summary>
    public static void WriteAppendText(Span<char> destination, int buildIndex, int step, int firstLine)
    {
        for (var i = 0; i < LinesPerAppend; i++)
        {
            var slice = destination.Slice(i * (LineLength + 1), LineLength + 1);
            WriteLine(slice, buildIndex, step, firstLine + i);
            slice[LineLength] = '\n';
        }
    }

    /// <summary>UTF-8 bytes of log text per build (lines only, no line ends: what the library counts in ByteCount).</summary>
    public static long LogBytesPerBuild => (long)StepsPerBuild * LinesPerLog * LineLength;

    private static void Digits(Span<char> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (char)('0' + (value % 10));
            value /= 10;
        }
    }

    private static uint Hash(int a, int b, int c)
    {
        // A small integer mix (murmur3 finalizer); deterministic across runs and processes.
        var h = (uint)a * 0x9E3779B1u ^ (uint)b * 0x85EBCA77u ^ (uint)c * 0xC2B2AE3Du;
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h;
    }

    private static string[] CreateBodies(int count)
    {
        string[] words =
        [
            "warning", "CS8618:", "Non-nullable", "property", "must", "contain", "a", "non-null", "value", "when", "exiting",
            "constructor.", "src/Foo/Bar.cs(42,17):", "error", "Compiling", "Linking", "obj/Release/net10.0/", "Restored",
            "Build", "succeeded.", "PASS", "FAIL", "test_", "ms", "elapsed", "0:00:01.234", "gcc", "-O2", "-Wall", "-c",
            "main.c", "-o", "main.o", "make[2]:", "Entering", "directory", "'/build/src'", "[100%]", "Built", "target",
            "libfoo.so", "npm", "WARN", "deprecated", "request@2.88.2", "Downloading", "https://example.org/pkg.tgz", "OK",
        ];
        var random = new Random(20261128);
        var bodies = new string[count];
        var sb = new StringBuilder(LineLength * 2);
        for (var i = 0; i < count; i++)
        {
            sb.Clear();
            while (sb.Length < LineLength - PrefixLength)
            {
                sb.Append(words[random.Next(words.Length)]).Append(' ');
                if (random.Next(8) == 0)
                {
                    sb.Append(random.Next(100000)).Append(' ');
                }
            }

            bodies[i] = sb.ToString(0, LineLength - PrefixLength);
        }

        return bodies;
    }
}
