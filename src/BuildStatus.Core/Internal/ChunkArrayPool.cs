using System.Buffers;

namespace BuildStatus.Internal;

/// <summary>
/// The arrays behind the log chunks of a host's batches when its store keeps no chunk memory: rented when a log's
/// snapshot is taken, returned when the snapshot is committed or dropped. Lengths are rounded up to 4 KiB, so a
/// chunk wastes less than that (the shared pool rounds up to a power of two); at most <c>retainBytes</c> of
/// returned arrays are kept, and arrays longer than <c>maxLength</c> are neither pooled nor kept.
/// </summary>
/// <remarks>
/// <see cref="ArrayPool{T}.Shared"/> keeps only a few arrays of a size per core, while a batch of the writer holds
/// hundreds of chunks at once (it has two batches in flight: one applied, one prepared), so most of them would be
/// dropped on return and allocated again. This pool keeps as many as were in flight, up to its byte bound: what a
/// host retains is bounded by the batch size, not by how long it runs. Thread-safe: one lock guards the buckets
/// and the byte count (the writer rents and returns, so it is not contended).
/// </remarks>
internal sealed class ChunkArrayPool : ArrayPool<byte>
{
    /// <summary>The granularity of the lengths this pool hands out.</summary>
    public const int Granularity = 4096;

    private readonly Lock _sync = new();
    private readonly Stack<byte[]>[] _buckets; // _buckets[i]: free arrays of (i + 1) * Granularity bytes; guarded by _sync
    private readonly long _retainBytes;
    private long _retained; // bytes of the arrays in _buckets; guarded by _sync

    /// <summary>Initializes a new instance of the <see cref="ChunkArrayPool"/> class.</summary>
    /// <param name="maxLength">The longest array pooled, rounded up to <see cref="Granularity"/>.</param>
    /// <param name="retainBytes">The most bytes of returned arrays kept for reuse.</param>
    public ChunkArrayPool(int maxLength, long retainBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        ArgumentOutOfRangeException.ThrowIfNegative(retainBytes);
        _buckets = new Stack<byte[]>[(int)Math.Min((maxLength + (long)Granularity - 1) / Granularity, Array.MaxLength / Granularity)];
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new Stack<byte[]>();
        }

        _retainBytes = retainBytes;
    }

    /// <summary>Gets the bytes of the arrays kept for reuse.</summary>
    public long RetainedBytes
    {
        get
        {
            lock (_sync)
            {
                return _retained;
            }
        }
    }

    /// <inheritdoc/>
    public override byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        if (minimumLength == 0)
        {
            return [];
        }

        var bucket = (minimumLength - 1) / Granularity;
        if (bucket >= _buckets.Length)
        {
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        lock (_sync)
        {
            if (_buckets[bucket].TryPop(out var free))
            {
                _retained -= free.Length;
                return free;
            }
        }

        return GC.AllocateUninitializedArray<byte>((bucket + 1) * Granularity);
    }

    /// <inheritdoc/>
    public override void Return(byte[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0 || array.Length % Granularity != 0 || array.Length / Granularity > _buckets.Length)
        {
            // Not one of this pool's lengths (an empty array, or one too long to pool): left to the GC.
            return;
        }

        if (clearArray)
        {
            Array.Clear(array);
        }

        lock (_sync)
        {
            if (_retained + array.Length <= _retainBytes)
            {
                _buckets[(array.Length / Granularity) - 1].Push(array);
                _retained += array.Length;
            }
        }
    }
}
