using System.Text.Json;
using BuildStatus.Storage.Sqlite.Internal;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class JsonTests
{
    [Test]
    public void Write_EmptyCollections_SameTextAsTheSerializer()
    {
        var context = ColumnJsonContext.Default;
        Assert.Multiple(() =>
        {
            Assert.That(Json.Write(Array.Empty<string>()), Is.EqualTo(JsonSerializer.Serialize(Array.Empty<string>(), context.IReadOnlyListString)));
            Assert.That(Json.Write(new Dictionary<string, string>()), Is.EqualTo(JsonSerializer.Serialize(new Dictionary<string, string>(), context.IReadOnlyDictionaryStringString)));
            Assert.That(Json.Write(new Dictionary<string, double>()), Is.EqualTo(JsonSerializer.Serialize(new Dictionary<string, double>(), context.IReadOnlyDictionaryStringDouble)));
            Assert.That(Json.Write(Array.Empty<BuildChange>()), Is.EqualTo(JsonSerializer.Serialize(Array.Empty<BuildChange>(), context.IReadOnlyListBuildChange)));
            Assert.That(Json.Write(Array.Empty<StepUrl>()), Is.EqualTo(JsonSerializer.Serialize(Array.Empty<StepUrl>(), context.IReadOnlyListStepUrl)));
        });
    }

    [Test]
    public void Write_EmptyCollections_ReadBackEmpty()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Json.ReadStrings(Json.Write(Array.Empty<string>())), Is.Empty);
            Assert.That(Json.ReadStringMap(Json.Write(new Dictionary<string, string>())), Is.Empty);
            Assert.That(Json.ReadNumberMap(Json.Write(new Dictionary<string, double>())), Is.Empty);
            Assert.That(Json.ReadChanges(Json.Write(Array.Empty<BuildChange>())), Is.Empty);
            Assert.That(Json.ReadUrls(Json.Write(Array.Empty<StepUrl>())), Is.Empty);
        });
    }
}
