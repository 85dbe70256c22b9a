using BuildStatus.Internal;

namespace BuildStatus.Core.Tests.Internal;

[TestFixture]
public sealed class ChunkArrayPoolTests
{
    [TestCase(1, 4096)]
    [TestCase(4096, 4096)]
    [TestCase(4097, 8192)]
    [TestCase(16_400, 20_480)]
    public void Rent_LengthWithinTheLongestPooled_RoundsUpTo4KiB(int asked, int expected)
    {
        var pool = new ChunkArrayPool(maxLength: 65_536, retainBytes: 1 << 20);

        Assert.That(pool.Rent(asked), Has.Length.EqualTo(expected));
    }

    [Test]
    public void Rent_AfterReturn_ReusesTheSameArrayOfThatSize()
    {
        var pool = new ChunkArrayPool(maxLength: 65_536, retainBytes: 1 << 20);
        var first = pool.Rent(10_000);
        var other = pool.Rent(30_000);

        pool.Return(first);
        pool.Return(other);

        Assert.Multiple(() =>
        {
            Assert.That(pool.RetainedBytes, Is.EqualTo(first.Length + other.Length));
            Assert.That(pool.Rent(9_000), Is.SameAs(first), "same 4 KiB size class");
            Assert.That(pool.Rent(5_000), Is.Not.SameAs(first).And.Not.SameAs(other), "a smaller size class is empty");
            Assert.That(pool.Rent(28_673), Is.SameAs(other));
            Assert.That(pool.RetainedBytes, Is.Zero);
        });
    }

    [Test]
    public void Return_BeyondTheRetainedBytes_KeepsNoMoreAndHundredsInFlightAreAllKept()
    {
        var pool = new ChunkArrayPool(maxLength: 65_536, retainBytes: 300 * 20_480);
        var arrays = Enumerable.Range(0, 400).Select(_ => pool.Rent(16_400)).ToList();

        foreach (var array in arrays)
        {
            pool.Return(array);
        }

        var again = Enumerable.Range(0, 400).Select(_ => pool.Rent(16_400)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(again.Count(a => arrays.Contains(a)), Is.EqualTo(300), "the first 300 returned were kept, the rest left to the GC");
            Assert.That(pool.RetainedBytes, Is.Zero);
        });
    }

    [Test]
    public void Rent_LongerThanPooled_AllocatesExactAndReturnDropsIt()
    {
        var pool = new ChunkArrayPool(maxLength: 65_536, retainBytes: 1 << 24);
        var big = pool.Rent(70_000);

        pool.Return(big);
        pool.Return(new byte[100]);
        pool.Return([]);

        Assert.Multiple(() =>
        {
            Assert.That(big, Has.Length.EqualTo(70_000));
            Assert.That(pool.RetainedBytes, Is.Zero);
            Assert.That(pool.Rent(0), Is.Empty);
        });
    }

    [Test]
    public void Return_ClearArray_ZeroesItBeforeReuse()
    {
        var pool = new ChunkArrayPool(maxLength: 8192, retainBytes: 1 << 20);
        var array = pool.Rent(100);
        array.AsSpan().Fill(7);

        pool.Return(array, clearArray: true);

        Assert.That(pool.Rent(100), Is.SameAs(array).And.All.Zero);
    }
}
