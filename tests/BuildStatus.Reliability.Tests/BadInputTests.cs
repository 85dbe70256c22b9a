using System.Text;
using BuildStatus.Reliability.Tests.Support;

namespace BuildStatus.Reliability.Tests;

/// <summary>
/// Bad input at the public entry points, on SQLite: each call either throws a clear, documented exception or stores
/// the value faithfully; after each, a normal build still finishes durably (the writer is alive, the file intact).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BadInputTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private TempDir _dir = null!;
    private RelHost _host = null!;

    private IBuildStatusHost Host => _host.Host;

    public static IEnumerable<TestCaseData> BadNames()
    {
        yield return new TestCaseData(null, typeof(ArgumentNullException)).SetName("{m}(null)");
        yield return new TestCaseData(string.Empty, typeof(ArgumentException)).SetName("{m}(empty)");
        yield return new TestCaseData("   \t", typeof(ArgumentException)).SetName("{m}(whitespace)");
        yield return new TestCaseData(new string('n', 201), typeof(ArgumentException)).SetName("{m}(201 chars)");
        yield return new TestCaseData(new string('n', 1_000_000), typeof(ArgumentException)).SetName("{m}(1M chars)");
        yield return new TestCaseData("a\u0000b", typeof(ArgumentException)).SetName("{m}(NUL)");
        yield return new TestCaseData("a\nb", typeof(ArgumentException)).SetName("{m}(newline)");
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _dir = new TempDir();
        _host = await RelHost.SqliteAsync(_dir.File("bad.db"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        Assert.That(DbVerifier.IntegrityCheck(_dir.File("bad.db")), Is.EqualTo("ok"));
        _dir.Dispose();
    }

    [TearDown]
    public async Task AfterEachBadCall_ANormalBuildStillFinishesDurably()
    {
        await _host.RunNormalBuildAsync(timeout: Timeout);
    }

    [TestCaseSource(nameof(BadNames))]
    public async Task Names_AreRejectedWithParamName_AtEveryEntryPoint(string? name, Type exception)
    {
        var build = await Host.AddBuilder("names").StartBuildAsync();
        var step = build.AddStep("ok");
        var calls = new (string Param, TestDelegate Call)[]
        {
            ("name", () => Host.AddBuilder(name!)),
            ("name", () => Host.AddWorker(name!)),
            ("name", () => build.AddStep(name!)),
            ("name", () => step.AddLog(name!)),
            ("name", () => build.SetProperty(name!, "v")),
            ("tags", () => Host.AddBuilder("tagged", tags: [name!])),
        };
        foreach (var (param, call) in calls)
        {
            var thrown = Assert.Throws(Is.InstanceOf(exception), call);
            Assert.That(((ArgumentException)thrown!).ParamName, Is.EqualTo(param));
        }

        await build.FinishAsync(BuildResult.Success).WaitAsync(Timeout);
    }

    [Test]
    public async Task OutOfRangeNumbersAndPages_AreRejectedWithParamName_UnknownObjectsGiveNullOrNamedError()
    {
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Host.History.QueryBuildsAsync(new BuildQuery("normal") { Limit = 0 }))!.ParamName, Is.EqualTo("Limit"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Host.History.QueryBuildsAsync(new BuildQuery("normal") { Limit = 1001 }))!.ParamName, Is.EqualTo("Limit"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Host.History.QueryBuildsAsync(new BuildQuery("normal") { BeforeNumber = -1 }))!.ParamName, Is.EqualTo("BeforeNumber"));
        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(() => Host.History.QueryBuildsAsync(null!))!.ParamName, Is.EqualTo("query"));
        Assert.That((await Host.History.QueryBuildsAsync(new BuildQuery("no such builder"))).Builds, Is.Empty);
        Assert.That(await Host.History.GetBuildAsync("no such builder", 1), Is.Null);
        Assert.That(await Host.History.GetBuildAsync("normal", -5), Is.Null);
        Assert.That(await Host.History.GetBuildAsync("normal", int.MaxValue), Is.Null);
        Assert.That(await Host.Adapter.LoadBuildStatusAsync("no such builder", 1), Is.Null);
        Assert.That(Host.FindBuilder("no such builder"), Is.Null);
        Assert.That(Assert.Throws<ArgumentNullException>(() => Host.FindBuilder(null!))!.ParamName, Is.EqualTo("name"));
        var error = Assert.ThrowsAsync<InvalidOperationException>(() => Host.StartBuildAsync("no such builder"));
        Assert.That(error!.Message, Does.Contain("'no such builder'"));

        var build = await Host.AddBuilder("ranges").StartBuildAsync();
        var step = build.AddStep("s");
        var log = step.AddLog("stdio");
        Assert.That(Assert.Throws<ArgumentException>(() => step.SetStatistic("x", double.NaN))!.ParamName, Is.EqualTo("value"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.AppendLineAsync((LogChannel)42, "x"))!.ParamName, Is.EqualTo("channel"));
        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(async () => await log.AppendLineAsync(LogChannel.Stdout, null!))!.ParamName, Is.EqualTo("line"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => build.FinishAsync((BuildResult)99))!.ParamName, Is.EqualTo("result"));
        await log.AppendLineAsync(LogChannel.Stdout, "one");
        await build.FinishAsync(BuildResult.Success).WaitAsync(Timeout);
        var twice = Assert.Throws<InvalidOperationException>(() => build.FinishAsync());
        Assert.That(twice!.Message, Does.Contain($"build {build.Number} of builder 'ranges'"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => build.AddStep("late"))!.Message, Does.Contain("'ranges'"));
        Assert.That(Assert.ThrowsAsync<InvalidOperationException>(async () => await log.AppendLineAsync(LogChannel.Stdout, "late"))!.Message, Does.Contain("'stdio'"));

        var stored = (await (await build.Persistent.GetStepsAsync())[0].GetLogsAsync())[0];
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stored.ReadLinesAsync(-1)), Is.Not.Null);
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stored.ReadLinesAsync(0, -1)), Is.Not.Null);
        Assert.That(await stored.ReadLinesAsync(1_000_000), Is.Empty);
        Assert.That(await stored.ReadLinesAsync(long.MaxValue - 1, int.MaxValue), Is.Empty);
    }

    [Test]
    public async Task LogText_ControlCharsLoneSurrogatesAndDecodedInvalidUtf8_AreStoredFaithfully()
    {
        var rng = new Random(1234);
        var texts = new List<string>
        {
            "\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f\u0085\u2028",
            "lone high \uD800 and lone low \uDC00 and a pair \uD83D\uDE80",
            "\uDBFF",
            string.Empty,
            "tab\there",
        };
        for (var i = 0; i < 50; i++)
        {
            var bytes = new byte[rng.Next(1, 300)];
            rng.NextBytes(bytes);
            texts.Add(Encoding.UTF8.GetString(bytes).Replace('\n', ' ').Replace('\r', ' '));
        }

        var build = await Host.AddBuilder("text").StartBuildAsync();
        var log = build.AddStep("s").AddLog("stdio");
        foreach (var text in texts)
        {
            await log.AppendLineAsync(LogChannel.Stderr, text);
        }

        await build.FinishAsync(BuildResult.Success).WaitAsync(Timeout);

        // Lone surrogates cannot survive UTF-8 storage: they become U+FFFD (documented in Guard.Text); all else verbatim.
        var expected = texts.Select(t => t.Replace("\uD800 ", "\uFFFD ", StringComparison.Ordinal).Replace("\uDC00 ", "\uFFFD ", StringComparison.Ordinal).Replace("\uDBFF", "\uFFFD", StringComparison.Ordinal)).ToList();
        var live = ((ILogStatus)log).Tail.Select(l => l.Text).ToList();
        Assert.That(live, Is.EqualTo(expected.TakeLast(live.Count)), "the live tail");
        var stored = (await (await build.Persistent.GetStepsAsync())[0].GetLogsAsync())[0];
        var read = await stored.ReadLinesAsync();
        Assert.That(read.Select(l => l.Text), Is.EqualTo(expected), "stored lines");
        Assert.That(read.All(l => l.Channel == LogChannel.Stderr), Is.True);
        Assert.That(stored.ByteCount, Is.EqualTo(expected.Sum(t => (long)Encoding.UTF8.GetByteCount(t))));
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task OneHundredMegabyteLine_IsSplitAtMaxLineLength_AndStoredWhole(CancellationToken cancellationToken)
    {
        var build = await Host.AddBuilder("huge").StartBuildAsync(cancellationToken: cancellationToken);
        var log = build.AddStep("s").AddLog("stdio");
        var number = build.Number;
        await log.AppendLineAsync(LogChannel.Stdout, "before", cancellationToken);
        var huge = string.Create(100 * 1024 * 1024, 0, static (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + (i % 26));
            }
        });
        await log.AppendLineAsync(LogChannel.Stdout, huge, cancellationToken);
        await log.AppendLineAsync(LogChannel.Stdout, "after", cancellationToken);
        await build.FinishAsync(BuildResult.Success, cancellationToken: cancellationToken).WaitAsync(TimeSpan.FromSeconds(240), cancellationToken);
        build = null;
        log = null;

        // The default MaxLineLength (65,536 chars) splits the line into 1,600 lines; together they are the line.
        var pieces = huge.Length / 65536;
        var stored = (await (await (await Host.History.GetBuildAsync("huge", number, cancellationToken))!.GetStepsAsync(cancellationToken))[0].GetLogsAsync(cancellationToken))[0];
        Assert.That(stored.LineCount, Is.EqualTo(pieces + 2));
        Assert.That(stored.ByteCount, Is.EqualTo(huge.Length + 11));
        var read = await stored.ReadLinesAsync(1, pieces, cancellationToken);
        Assert.That(read.Select(l => l.Text.Length), Is.All.EqualTo(65536));
        Assert.That(string.Equals(string.Concat(read.Select(l => l.Text)), huge, StringComparison.Ordinal), Is.True, "the 100 MB line is stored byte-identical, in pieces");
        Assert.That((await stored.ReadLinesAsync(pieces + 1, 1, cancellationToken)).Single().Text, Is.EqualTo("after"));
        huge = null;
        read = null;
        GC.Collect();
    }

    [Test]
    public async Task SqlMetacharactersAndQuotes_InEveryStringField_RoundTripVerbatimThroughSqlite()
    {
        string Evil(string field) => $"{field}'); DROP TABLE builds; -- \"q\" `b` [x] % _ \\ ; SELECT * FROM logs WHERE '1'='1";
        var builderName = Evil("b")[..60];
        var worker = Host.AddWorker(Evil("w")[..60]);
        worker.Connect(Evil("host"), new Dictionary<string, string> { [Evil("ik")] = Evil("iv") });
        var builder = Host.AddBuilder(builderName, Evil("desc"), [Evil("t")[..50]]);
        var build = await builder.StartBuildAsync(new BuildStartInfo
        {
            Reason = Evil("reason"),
            SourceStamps = [new SourceStamp(Evil("repo")) { Branch = Evil("branch"), Revision = Evil("rev"), Project = Evil("proj"), Codebase = Evil("cb") }],
            Changes = [new BuildChange(Evil("crev"), Evil("author"), Evil("comments"))],
            ResponsibleUsers = [Evil("user")],
            Properties = new Dictionary<string, PropertyValue> { [Evil("p")[..60]] = new(Evil("pv"), Evil("ps")) },
            Worker = worker,
        });
        build.SetProperty(Evil("q")[..60], Evil("qv"), Evil("qs"));
        build.SetStateText(Evil("state"));
        var step = build.AddStep(Evil("step")[..60]);
        step.Start();
        step.AddUrl(Evil("url name"), Evil("http://x/?a='b'"));
        step.SetStatistic(Evil("stat"), -1.5e300);
        step.SetStateText(Evil("step state"));
        var log = step.AddLog(Evil("log")[..60]);
        await log.AppendLineAsync(LogChannel.Header, Evil("line"));
        step.Finish(BuildResult.Warnings, Evil("step final"));
        await build.FinishAsync(BuildResult.Warnings, Evil("final")).WaitAsync(Timeout);

        var stored = await Host.History.GetBuildAsync(builderName, build.Number);
        Assert.That(stored, Is.Not.Null);
        Assert.That(stored!.Reason, Is.EqualTo(Evil("reason")));
        Assert.That(stored.StateText, Is.EqualTo(Evil("final")));
        Assert.That(stored.WorkerName, Is.EqualTo(Evil("w")[..60]));
        Assert.That(stored.SourceStamps.Single(), Is.EqualTo(new SourceStamp(Evil("repo")) { Branch = Evil("branch"), Revision = Evil("rev"), Project = Evil("proj"), Codebase = Evil("cb") }));
        Assert.That(stored.Changes.Single().Comments, Is.EqualTo(Evil("comments")));
        Assert.That(stored.ResponsibleUsers, Does.Contain(Evil("user")).And.Contain(Evil("author")));
        Assert.That(stored.Properties[Evil("p")[..60]], Is.EqualTo(new PropertyValue(Evil("pv"), Evil("ps"))));
        Assert.That(stored.Properties[Evil("q")[..60]], Is.EqualTo(new PropertyValue(Evil("qv"), Evil("qs"))));
        var storedStep = (await stored.GetStepsAsync()).Single();
        Assert.That(storedStep.Name, Is.EqualTo(Evil("step")[..60]));
        Assert.That(storedStep.StateText, Is.EqualTo(Evil("step final")));
        Assert.That(storedStep.Urls.Single(), Is.EqualTo(new StepUrl(Evil("url name"), Evil("http://x/?a='b'"))));
        Assert.That(storedStep.Statistics[Evil("stat")], Is.EqualTo(-1.5e300));
        var storedLog = (await storedStep.GetLogsAsync()).Single();
        Assert.That(storedLog.Name, Is.EqualTo(Evil("log")[..60]));
        Assert.That((await storedLog.ReadLinesAsync()).Single(), Is.EqualTo(new LogLine(0, LogChannel.Header, Evil("line"))));
        var storedBuilder = await Host.History.GetBuilderAsync(builderName);
        Assert.That(storedBuilder!.Description, Is.EqualTo(Evil("desc")));
        Assert.That(storedBuilder.Tags, Is.EqualTo(new[] { Evil("t")[..50] }));
        var page = await Host.History.QueryBuildsAsync(new BuildQuery(builderName) { Branch = Evil("branch"), PropertyName = Evil("p")[..60], PropertyValue = Evil("pv") });
        Assert.That(page.Builds.Single().Number, Is.EqualTo(build.Number), "filters bind the values as parameters");
        await Host.FlushAsync().WaitAsync(Timeout);
        var storedWorker = await Host.History.GetWorkerAsync(Evil("w")[..60]);
        Assert.That(storedWorker, Is.Not.Null);
    }

    [Test]
    public async Task CallsAfterDispose_ThrowObjectDisposedException()
    {
        using var dir = new TempDir();
        var other = await RelHost.SqliteAsync(dir.File("disposed.db"));
        var builder = other.Host.AddBuilder("b");
        await other.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => other.Host.AddBuilder("x"));
        Assert.Throws<ObjectDisposedException>(() => other.Host.AddWorker("x"));
        Assert.ThrowsAsync<ObjectDisposedException>(() => other.Host.StartBuildAsync("b"));
        Assert.ThrowsAsync<ObjectDisposedException>(() => builder.StartBuildAsync());
        Assert.Throws<ObjectDisposedException>(() => other.Host.Subscribe(new CollectingReceiver([])));
        Assert.Throws<ObjectDisposedException>(() => other.Host.FlushAsync());
        Assert.ThrowsAsync<ObjectDisposedException>(() => other.Host.StartAsync());
        Assert.That(builder.Name, Is.EqualTo("b"), "status stays readable");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
