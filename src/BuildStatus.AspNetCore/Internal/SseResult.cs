using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace BuildStatus.AspNetCore.Internal;

/// <summary>
/// Writes a <c>text/event-stream</c> response from batches of messages, flushing once per batch. (ASP.NET Core's
/// <c>TypedResults.ServerSentEvents</c> writes every event to the response on its own and cannot write comments;
/// with hundreds of clients reading every event, a write per event is most of the server's work.)
/// </summary>
/// <remarks>Runs on the request; the batches come from one stream's iterator, which owns its state.</remarks>
internal sealed class SseResult(IAsyncEnumerable<IReadOnlyList<SseMessage>> batches) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = response.BodyWriter;
        await foreach (var batch in batches.ConfigureAwait(false))
        {
            var flushed = EncodedLength(batch) is var length and > 0
                ? await WriteEncodedAsync(writer, batch, length, httpContext.RequestAborted).ConfigureAwait(false)
                : await WriteFormattedAsync(writer, batch, httpContext.RequestAborted).ConfigureAwait(false);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                break;
            }
        }
    }

    // The bytes of a batch whose every message is encoded already (what a status stream sends); 0 otherwise.
    private static int EncodedLength(IReadOnlyList<SseMessage> batch)
    {
        var length = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var frame = batch[i].Frame;
            if (frame.IsEmpty)
            {
                return 0;
            }

            length += frame.Length;
        }

        return length;
    }

    // One copy into a pooled buffer and one write: the response's writer takes a lock for every span it gives
    // out, so writing frame by frame was most of a busy stream's cost.
    private static async ValueTask<FlushResult> WriteEncodedAsync(PipeWriter writer, IReadOnlyList<SseMessage> batch, int length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var at = 0;
            for (var i = 0; i < batch.Count; i++)
            {
                var frame = batch[i].Frame.Span;
                frame.CopyTo(buffer.AsSpan(at));
                at += frame.Length;
            }

            return await writer.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ValueTask<FlushResult> WriteFormattedAsync(PipeWriter writer, IReadOnlyList<SseMessage> batch, CancellationToken cancellationToken)
    {
        foreach (var message in batch)
        {
            Write(writer, message);
        }

        return writer.FlushAsync(cancellationToken);
    }

    internal static void Write(IBufferWriter<byte> writer, SseMessage message)
    {
        if (!message.Frame.IsEmpty)
        {
            // Encoded once for every stream that sends it (JournalEntry): copied, never formatted again.
            writer.Write(message.Frame.Span);
            return;
        }

        if (message.IsComment)
        {
            Field(writer, ": ", message.Data);
            Utf8(writer, "\n");
            return;
        }

        if (message.Type is { } type)
        {
            Field(writer, "event: ", type);
        }

        if (message.Id is { } id)
        {
            Field(writer, "id: ", id);
        }

        if (message.Retry is { } retry)
        {
            Field(writer, "retry: ", ((long)retry.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        }

        // Our data is one line of JSON (the serializer escapes line breaks); split anyway, as the format requires.
        var data = message.Data.AsSpan();
        while (true)
        {
            var newline = data.IndexOf('\n');
            Utf8(writer, "data: ");
            Utf8(writer, newline < 0 ? data : data[..newline]);
            Utf8(writer, "\n");
            if (newline < 0)
            {
                break;
            }

            data = data[(newline + 1)..];
        }

        Utf8(writer, "\n");
    }

    private static void Field(IBufferWriter<byte> writer, string name, string value)
    {
        Utf8(writer, name);

        // A field value cannot hold a line break; ours never do, but never let one split the stream.
        Utf8(writer, value.AsSpan().ContainsAny('\r', '\n') ? value.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal) : value);
        Utf8(writer, "\n");
    }

    // Encodes in pieces, so a large chunk of log lines does not ask the pipe for one huge buffer.
    private static void Utf8(IBufferWriter<byte> writer, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        if (text.Length <= 4096)
        {
            var span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
            writer.Advance(Encoding.UTF8.GetBytes(text, span));
            return;
        }

        var encoder = Encoding.UTF8.GetEncoder();
        while (!text.IsEmpty)
        {
            var span = writer.GetSpan(16 * 1024);
            encoder.Convert(text, span, flush: true, out var charsUsed, out var bytesUsed, out _);
            writer.Advance(bytesUsed);
            text = text[charsUsed..];
        }
    }
}
