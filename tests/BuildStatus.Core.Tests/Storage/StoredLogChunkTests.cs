using System.Text;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Storage;

[TestFixture]
public sealed class StoredLogChunkTests
{
    private static readonly LogKey Log = new("linux", 3, 1, 2);

    [Test]
    public void FromLines_RoundTripsThroughUtf8()
    {
        LogLine[] lines =
        [
            new(5, LogChannel.Stdout, "plain"),
            new(6, LogChannel.Stderr, "日本語 🚀"),
            new(7, LogChannel.Header, string.Empty),
            new(8, LogChannel.Stdout, "carriage\r inside\r"),
        ];

        var chunk = new StoredLogChunk(Log, lines);

        Assert.That(chunk.Log, Is.EqualTo(Log));
        Assert.That((chunk.FirstLine, chunk.LastLine, chunk.LineCount), Is.EqualTo((5L, 8L, 4)));
        Assert.That(chunk.Utf8Text.ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes("plain\n日本語 🚀\n\ncarriage\r inside\r\n")));
        Assert.That(chunk.Channels.ToArray(), Is.EqualTo(new byte[] { 0, 1, 2, 0 }));
        Assert.That(chunk.TextByteCount, Is.EqualTo(5 + 14 + 0 + 17));
        Assert.That(chunk.GetChannel(1), Is.EqualTo(LogChannel.Stderr));
        Assert.That(chunk.Lines, Is.EqualTo(lines));
        var decoded = chunk.Lines;
        Assert.That(chunk.Lines, Is.SameAs(decoded), "decoded once, then kept");
    }

    [Test]
    public void FromLines_LoneSurrogate_BecomesReplacementCharacter()
    {
        var chunk = new StoredLogChunk(Log, [new LogLine(0, LogChannel.Stdout, "bad \uD800 good \uD83D\uDE00")]);

        Assert.That(chunk.Lines[0].Text, Is.EqualTo("bad \uFFFD good \uD83D\uDE00"));
    }

    [Test]
    public void FromUtf8_KeepsTheMemoryAndDecodesLines()
    {
        var text = Encoding.UTF8.GetBytes("a\nü\n\n");
        var channels = new byte[] { 2, 1, 0 };

        var chunk = new StoredLogChunk(Log, 10, text, channels);

        Assert.That(chunk.Lines, Is.EqualTo(new[] { new LogLine(10, LogChannel.Header, "a"), new LogLine(11, LogChannel.Stderr, "ü"), new LogLine(12, LogChannel.Stdout, string.Empty) }));
        Assert.That(chunk.TextByteCount, Is.EqualTo(3));
        Assert.That(chunk.LastLine, Is.EqualTo(12));
        Assert.That(chunk.ToString(), Does.Contain("lines 10-12"));
    }

    [Test]
    public void FromLines_Null_ThrowsArgumentNullException()
    {
        Assert.That(Assert.Throws<ArgumentNullException>(() => new StoredLogChunk(Log, null!))!.ParamName, Is.EqualTo("lines"));
    }

    [TestCaseSource(nameof(BadLineLists))]
    public void FromLines_BrokenRule_ThrowsArgumentExceptionThatSaysWhich(LogLine[] lines, string expected)
    {
        var exception = Assert.Throws<ArgumentException>(() => new StoredLogChunk(Log, lines));

        Assert.That(exception!.ParamName, Is.EqualTo("lines"));
        Assert.That(exception.Message, Does.Contain(expected));
    }

    private static IEnumerable<TestCaseData> BadLineLists()
    {
        yield return new TestCaseData(Array.Empty<LogLine>(), "at least one line").SetName("FromLines_NoLines_Throws");
        yield return new TestCaseData(new[] { new LogLine(-1, LogChannel.Stdout, "x") }, "negative line -1").SetName("FromLines_NegativeFirst_Throws");
        yield return new TestCaseData(new[] { new LogLine(0, LogChannel.Stdout, "a"), new LogLine(2, LogChannel.Stdout, "b") }, "line 2 at position 1").SetName("FromLines_Gap_Throws");
        yield return new TestCaseData(new[] { new LogLine(3, LogChannel.Stdout, "a"), new LogLine(3, LogChannel.Stdout, "b") }, "must be 4").SetName("FromLines_Repeat_Throws");
        yield return new TestCaseData(new[] { new LogLine(0, LogChannel.Stdout, "a"), new LogLine(1, LogChannel.Stdout, null!) }, "Line 1").SetName("FromLines_NullText_Throws");
        yield return new TestCaseData(new[] { new LogLine(0, LogChannel.Stdout, "two\nlines") }, "contains '\\n'").SetName("FromLines_NewlineInText_Throws");
        yield return new TestCaseData(new[] { new LogLine(0, (LogChannel)3, "x") }, "channel 3").SetName("FromLines_UndefinedChannel_Throws");
    }

    [Test]
    public void FromUtf8_NegativeFirstLine_ThrowsArgumentOutOfRangeException()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new StoredLogChunk(Log, -1, "a\n"u8.ToArray(), new byte[1]));

        Assert.That(exception!.ParamName, Is.EqualTo("firstLine"));
    }

    [TestCase("", 0, "channels", "at least one line")]
    [TestCase("a\n", 0, "channels", "at least one line")]
    [TestCase("a", 1, "utf8Text", "does not end with '\\n'")]
    [TestCase("", 1, "utf8Text", "does not end with '\\n'")]
    [TestCase("a\nb\n", 1, "utf8Text", "has 2 '\\n'")]
    [TestCase("a\n", 2, "utf8Text", "has 1 '\\n'")]
    public void FromUtf8_TextAndChannelsDisagree_ThrowsArgumentException(string text, int channelCount, string paramName, string expected)
    {
        var exception = Assert.Throws<ArgumentException>(() => new StoredLogChunk(Log, 0, Encoding.UTF8.GetBytes(text), new byte[channelCount]));

        Assert.That(exception!.ParamName, Is.EqualTo(paramName));
        Assert.That(exception.Message, Does.Contain(expected));
    }

    [Test]
    public void FromUtf8_InvalidUtf8_ThrowsArgumentException()
    {
        var exception = Assert.Throws<ArgumentException>(() => new StoredLogChunk(Log, 0, new byte[] { 0x61, 0xC3, 0x0A }, new byte[1]));

        Assert.That(exception!.ParamName, Is.EqualTo("utf8Text"));
        Assert.That(exception.Message, Does.Contain("not valid UTF-8"));
    }

    [Test]
    public void FromUtf8_UndefinedChannel_ThrowsArgumentExceptionNamingTheLine()
    {
        var exception = Assert.Throws<ArgumentException>(() => new StoredLogChunk(Log, 20, "a\nb\n"u8.ToArray(), new byte[] { 0, 7 }));

        Assert.That(exception!.ParamName, Is.EqualTo("channels"));
        Assert.That(exception.Message, Does.Contain("Line 21").And.Contain("channel 7"));
    }

    [Test]
    public void GetChannel_OutsideTheChunk_ThrowsArgumentOutOfRangeException()
    {
        var chunk = new StoredLogChunk(Log, [new LogLine(0, LogChannel.Stdout, "x")]);

        Assert.Throws<ArgumentOutOfRangeException>(() => chunk.GetChannel(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => chunk.GetChannel(-1));
    }

    [Test]
    public void Constructor_LinesOutOfOrder_MessageNamesTheLogReadably()
    {
        var log = new LogKey("linux", 12, 3, 1);

        var exception = Assert.Throws<ArgumentException>(() => _ = new StoredLogChunk(log, [new LogLine(0, LogChannel.Stdout, "a"), new LogLine(5, LogChannel.Stdout, "b")]));

        Assert.That(exception!.Message, Does.Contain("log linux #12 step 3 log 1"));
    }

    [Test]
    public void Keys_ToString_ReadLikeMessages()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new BuildKey("linux", 12).ToString(), Is.EqualTo("linux #12"));
            Assert.That(new StepKey("linux", 12, 3).ToString(), Is.EqualTo("linux #12 step 3"));
            Assert.That(new LogKey("linux", 12, 3, 1).ToString(), Is.EqualTo("linux #12 step 3 log 1"));
        });
    }
}
