using System.Reflection;
using System.Text.RegularExpressions;
using BuildStatus.Tests.Shared;

namespace BuildStatus.Core.Tests.Docs;

[TestFixture]
[NonParallelizable] // redirects Console.Out
public sealed partial class QuickStartTests
{
    [Test]
    public void ReadmeQuickStart_IsTheQuickStartSampleVerbatim()
    {
        var root = Readme.RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var program = File.ReadAllText(Path.Combine(root, "samples", "BuildStatus.QuickStart", "Program.cs")).ReplaceLineEndings("\n");

        var section = readme[readme.IndexOf("## Quick start", StringComparison.Ordinal)..];
        var block = CodeBlock().Match(section);

        Assert.That(block.Success, Is.True, "the quick start section has a csharp block");
        Assert.That(block.Groups[1].Value, Is.EqualTo(program));
    }

    [Test]
    public void QuickStartSample_Runs_AndPrintsTheStoredBuild()
    {
        var entry = Assembly.Load("BuildStatus.QuickStart").EntryPoint!;
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        try
        {
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        finally
        {
            Console.SetOut(original);
        }

        var text = output.ToString();
        Assert.That(text, Does.Contain("linux #1: 1 step(s), 3 log lines"));
        Assert.That(text, Does.Contain("stored: #1 Success (1 step(s)"));
    }

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();
}
