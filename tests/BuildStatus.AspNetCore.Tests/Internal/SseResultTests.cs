using System.Buffers;
using System.Text;
using BuildStatus.AspNetCore.Internal;

namespace BuildStatus.AspNetCore.Tests.Internal;

[TestFixture]
public sealed class SseResultTests
{
    [Test]
    public void Write_EventWithEveryField_IsFormattedAsTheSpecSays()
    {
        var text = Format(new SseMessage("{\"a\":1}", "lines", "42") { Retry = TimeSpan.FromSeconds(1.5) });

        Assert.That(text, Is.EqualTo("event: lines\nid: 42\nretry: 1500\ndata: {\"a\":1}\n\n"));
    }

    [Test]
    public void Write_DataWithLineBreaks_BecomesSeveralDataLines()
    {
        var text = Format(new SseMessage("one\ntwo"));

        Assert.That(text, Is.EqualTo("data: one\ndata: two\n\n"));
    }

    [Test]
    public void Write_Comment_IsAColonLine()
    {
        Assert.That(Format(SseMessage.Heartbeat), Is.EqualTo(": heartbeat\n\n"));
    }

    [Test]
    public void Write_IdWithLineBreak_CannotSplitTheStream()
    {
        var text = Format(new SseMessage("x", "t\nevent: evil", "1\n2"));

        Assert.That(text, Is.EqualTo("event: t event: evil\nid: 1 2\ndata: x\n\n"));
    }

    [Test]
    public void Write_LargeNonAsciiData_IsEncodedWhole()
    {
        var data = string.Concat(Enumerable.Repeat("ünïcødé 🚀 ", 5000));

        var text = Format(new SseMessage(data));

        Assert.That(text, Is.EqualTo($"data: {data}\n\n"));
    }

    [Test]
    public void Write_EncodedFrame_IsWrittenAsItIs()
    {
        var frame = Encoding.UTF8.GetBytes("id: 7\ndata: {\"ü\":1}\n\n");

        var text = Format(SseMessage.Encoded(frame, null, "7"));

        Assert.That(text, Is.EqualTo("id: 7\ndata: {\"ü\":1}\n\n"));
    }

    private static string Format(SseMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        SseResult.Write(buffer, message);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
