using System.Text;
using BuildStatus.Internal;
using BuildStatus.Storage;

namespace BuildStatus.Core.Tests.Internal;

[TestFixture]
public sealed class Utf8LineBufferTests
{
    [Test]
    public void Append_MultiByteText_CountsUtf8BytesWithoutNewlines()
    {
        var buffer = new Utf8LineBuffer();
        string[] texts = ["a", "é", "日本", "🚀", string.Empty, "tab\there\r"];

        foreach (var text in texts)
        {
            var bytes = buffer.Append(LogChannel.Stdout, text);
            Assert.That(bytes.ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes(text)), text);
        }

        Assert.That(buffer.Count, Is.EqualTo(texts.Length));
        Assert.That(buffer.TextByteCount, Is.EqualTo(1 + 2 + 6 + 4 + 0 + 9));
        Assert.That(Enumerable.Range(0, texts.Length).Select(buffer.GetLineByteCount), Is.EqualTo(new[] { 1, 2, 6, 4, 0, 9 }));
        Assert.That(buffer.ToLines(0, texts.Length).Select(l => l.Text), Is.EqualTo(texts));
        buffer.Release();
    }

    [Test]
    public void Append_LoneSurrogates_BecomeReplacementCharactersExactlyAsGuardTextThenUtf8()
    {
        string[] texts =
        [
            "bad \uD800 half, good \uD83D\uDE00, bad \uDC00",
            "\uD800",
            "\uDC00\uD800",
            "\uD800\uD800\uDC00",
            "end high \uD83D",
            "low first \uDE00\uD83D x",
        ];
        var random = new Random(7);
        char[] alphabet = ['a', 'é', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D', '\uDE00', ' '];
        var generated = Enumerable.Range(0, 200).Select(_ => new string(Enumerable.Range(0, random.Next(12)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()));
        var buffer = new Utf8LineBuffer();

        foreach (var text in texts.Concat(generated))
        {
            var expected = Guard.Text(text);
            var bytes = buffer.Append(LogChannel.Stderr, text);

            Assert.That(bytes.ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes(expected)), $"bytes of {Escape(text)}");
            Assert.That(Utf8LineBuffer.GetByteCount(text), Is.EqualTo(Encoding.UTF8.GetByteCount(expected)), $"byte count of {Escape(text)}");
            Assert.That(buffer.ToLines(buffer.Count - 1, 1)[0].Text, Is.EqualTo(expected), $"text of {Escape(text)}");
        }

        buffer.Release();
    }

    [Test]
    public void DropFirst_AsARing_KeepsTheLastLinesWithTheirNumbersAndBoundedArrays()
    {
        var buffer = new Utf8LineBuffer();
        for (var i = 0; i < 10_000; i++)
        {
            buffer.Append((LogChannel)(i % 3), $"line {i} {new string('x', i % 50)}");
            if (buffer.Count > 50)
            {
                buffer.DropFirst(buffer.Count - 50);
            }
        }

        Assert.That(buffer.FirstLine, Is.EqualTo(9_950));
        Assert.That(buffer.NextLine, Is.EqualTo(10_000));
        var lines = buffer.ToLines(0, 50);
        Assert.That(lines.Select(l => l.Number), Is.EqualTo(Enumerable.Range(9_950, 50).Select(i => (long)i)));
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(9_950, 50).Select(i => $"line {i} {new string('x', i % 50)}")));
        Assert.That(lines.Select(l => l.Channel), Is.EqualTo(Enumerable.Range(9_950, 50).Select(i => (LogChannel)(i % 3))));
        Assert.That(buffer.TextByteCount, Is.EqualTo(lines.Sum(l => l.Text.Length)));

        // 50 lines of at most 60 bytes: compaction keeps the arrays within a small multiple of that, however many lines passed.
        Assert.That(buffer.TextCapacity, Is.LessThanOrEqualTo(16 * 1024));
        Assert.That(buffer.PooledBytes, Is.LessThanOrEqualTo(32 * 1024));
        buffer.Release();
        Assert.That(buffer.PooledBytes, Is.Zero);
    }

    [Test]
    public void DropFirstWhileOver_DropsOldestLinesUntilTheTextFits()
    {
        var buffer = new Utf8LineBuffer(100);
        foreach (var text in new[] { "aaaa", "bb", "ü", "cccc", "dd" })
        {
            buffer.Append(LogChannel.Stdout, text); // 4, 2, 2, 4, 2 bytes = 14
        }

        var dropped = buffer.DropFirstWhileOver(8, out var droppedBytes);

        Assert.That(dropped, Is.EqualTo(2));
        Assert.That(droppedBytes, Is.EqualTo(6));
        Assert.That(buffer.TextByteCount, Is.EqualTo(8));
        Assert.That(buffer.ToLines(0, buffer.Count).Select(l => (l.Number, l.Text)), Is.EqualTo(new[] { (102L, "ü"), (103L, "cccc"), (104L, "dd") }));

        Assert.That(buffer.DropFirstWhileOver(8, out droppedBytes), Is.Zero, "already within the bound");
        Assert.That(buffer.DropFirstWhileOver(0, out droppedBytes), Is.EqualTo(3));
        Assert.That(droppedBytes, Is.EqualTo(8));
        Assert.That(buffer.Count, Is.Zero);
        Assert.That(buffer.FirstLine, Is.EqualTo(105));
    }

    [Test]
    public void DropFirstWhileOver_OneLineLargerThanTheBound_DropsItToo()
    {
        var buffer = new Utf8LineBuffer();
        buffer.Append(LogChannel.Stdout, new string('z', 100));

        Assert.That(buffer.DropFirstWhileOver(30, out var droppedBytes), Is.EqualTo(1));
        Assert.That(droppedBytes, Is.EqualTo(100));
    }

    [Test]
    public void Append_ManyLinesAfterDrops_CompactsInPlaceInsteadOfGrowing()
    {
        var buffer = new Utf8LineBuffer();
        var line = new string('q', 99);
        for (var i = 0; i < 8; i++)
        {
            buffer.Append(LogChannel.Stdout, line);
        }

        // The first moves size the arrays (twice what the live lines need); from then on they only compact.
        for (var i = 0; i < 100; i++)
        {
            buffer.DropFirst(1);
            buffer.Append(LogChannel.Stdout, line);
        }

        var capacity = buffer.PooledBytes;
        for (var i = 0; i < 100_000; i++)
        {
            buffer.DropFirst(1);
            buffer.Append(LogChannel.Stdout, line);
        }

        Assert.That(buffer.PooledBytes, Is.EqualTo(capacity), "a steady 8 lines never needs larger arrays");
        Assert.That(buffer.TextCapacity, Is.LessThanOrEqualTo(4 * 8 * 100));
        Assert.That(buffer.ToLines(0, buffer.Count).Select(l => l.Text), Is.All.EqualTo(line));
        Assert.That(buffer.FirstLine, Is.EqualTo(100_100));
    }

    [Test]
    public void CopyOut_Range_IsOneExactArrayOfTextThenChannels()
    {
        var buffer = new Utf8LineBuffer();
        buffer.Append(LogChannel.Stdout, "skip");
        buffer.Append(LogChannel.Stderr, "é");
        buffer.Append(LogChannel.Header, string.Empty);
        buffer.Append(LogChannel.Stdout, "x");
        buffer.Append(LogChannel.Stdout, "after");

        var copy = buffer.CopyOut(1, 3, out var textLength);

        Assert.That(textLength, Is.EqualTo(2 + 1 + 0 + 1 + 1 + 1));
        Assert.That(copy, Has.Length.EqualTo(textLength + 3));
        Assert.That(copy.AsSpan(0, textLength).ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes("é\n\nx\n")));
        Assert.That(copy.AsSpan(textLength).ToArray(), Is.EqualTo(new byte[] { 1, 2, 0 }));
    }

    [Test]
    public void ToChunk_NumbersFromTheBufferAndRoundTripsThroughLines()
    {
        var log = new LogKey("b", 1, 0, 0);
        var buffer = new Utf8LineBuffer(40);
        string[] texts = ["one", "twö", "🚀 three", string.Empty];
        for (var i = 0; i < texts.Length; i++)
        {
            buffer.Append((LogChannel)(i % 3), texts[i]);
        }

        buffer.DropFirst(1);
        var chunk = buffer.ToChunk(log, 1, 2);

        Assert.That(chunk.Log, Is.EqualTo(log));
        Assert.That(chunk.FirstLine, Is.EqualTo(42));
        Assert.That(chunk.LineCount, Is.EqualTo(2));
        Assert.That(chunk.Lines, Is.EqualTo(new[] { new LogLine(42, LogChannel.Header, "🚀 three"), new LogLine(43, LogChannel.Stdout, string.Empty) }));
        Assert.That(chunk.TextByteCount, Is.EqualTo(10));

        // The same bytes pass the public constructor's checks.
        var copy = new StoredLogChunk(log, chunk.FirstLine, chunk.Utf8Text, chunk.Channels);
        Assert.That(copy.Lines, Is.EqualTo(chunk.Lines));
    }

    [Test]
    public void AppendFrom_CopiesLinesAndChannels_AndNumbersThemOn()
    {
        var source = new Utf8LineBuffer(500);
        source.Append(LogChannel.Stdout, "dropped");
        source.Append(LogChannel.Stderr, "kept 1");
        source.Append(LogChannel.Header, "kept ü");
        source.DropFirst(1);
        var target = new Utf8LineBuffer(7);
        target.Append(LogChannel.Stdout, "before");

        target.AppendFrom(source, 0, 2);
        target.Append(LogChannel.Stdout, "after");

        Assert.That(target.ToLines(0, target.Count), Is.EqualTo(new[]
        {
            new LogLine(7, LogChannel.Stdout, "before"),
            new LogLine(8, LogChannel.Stderr, "kept 1"),
            new LogLine(9, LogChannel.Header, "kept ü"),
            new LogLine(10, LogChannel.Stdout, "after"),
        }));
        Assert.That(target.TextByteCount, Is.EqualTo(6 + 6 + 7 + 5));
    }

    [Test]
    public void AppendFrom_IntoAFullBuffer_GrowsAndKeepsOffsets()
    {
        var source = new Utf8LineBuffer();
        for (var i = 0; i < 300; i++)
        {
            source.Append(LogChannel.Stdout, $"source {i}");
        }

        var target = new Utf8LineBuffer();
        for (var i = 0; i < 30; i++)
        {
            target.Append(LogChannel.Stderr, $"target {i}");
        }

        target.DropFirst(10);
        target.AppendFrom(source, 100, 200);

        var lines = target.ToLines(0, target.Count);
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(Enumerable.Range(10, 20).Select(i => $"target {i}").Concat(Enumerable.Range(100, 200).Select(i => $"source {i}"))));
        Assert.That(lines.Select(l => l.Number), Is.EqualTo(Enumerable.Range(10, 220).Select(i => (long)i)));
    }

    [Test]
    public void ClearAndRelease_AdvanceFirstLine_AndTheBufferIsReusable()
    {
        var buffer = new Utf8LineBuffer();
        buffer.Append(LogChannel.Stdout, "a");
        buffer.Append(LogChannel.Stdout, "b");

        buffer.Clear();
        Assert.That((buffer.Count, buffer.FirstLine, buffer.TextByteCount), Is.EqualTo((0, 2L, 0)));
        Assert.That(buffer.PooledBytes, Is.GreaterThan(0), "Clear keeps the arrays");

        buffer.Append(LogChannel.Stdout, "c");
        buffer.Release();
        Assert.That((buffer.Count, buffer.FirstLine, buffer.PooledBytes), Is.EqualTo((0, 3L, 0L)));

        buffer.Append(LogChannel.Stderr, "d");
        Assert.That(buffer.ToLines(0, 1), Is.EqualTo(new[] { new LogLine(3, LogChannel.Stderr, "d") }));
        buffer.Release();
    }

    [Test]
    public void Append_HugeLine_IsHeldWhole()
    {
        var buffer = new Utf8LineBuffer();
        buffer.Append(LogChannel.Stdout, "small");
        var huge = new string('h', 3 * 1024 * 1024);

        buffer.Append(LogChannel.Stdout, huge);

        Assert.That(buffer.GetLineByteCount(1), Is.EqualTo(huge.Length));
        Assert.That(buffer.ToLines(1, 1)[0].Text, Is.EqualTo(huge));
        buffer.Release();
    }

    [Test]
    public void Ranges_OutsideTheLines_Throw()
    {
        var buffer = new Utf8LineBuffer();
        buffer.Append(LogChannel.Stdout, "only");

        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.GetLine(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.ToLines(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.DropFirst(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyOut(-1, 1, out _));
    }

    private static string Escape(string text) => string.Concat(text.Select(c => c < 128 ? c.ToString() : $"\\u{(int)c:X4}"));
}
