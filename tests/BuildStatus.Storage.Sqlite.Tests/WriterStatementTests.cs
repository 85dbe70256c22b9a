using BuildStatus.Storage.Sqlite.Internal;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace BuildStatus.Storage.Sqlite.Tests;

public sealed class WriterStatementTests
{
    [Test]
    public async Task Execute_ParametersNamedOutOfOrder_BindsEachValueToItsName()
    {
        await using var test = new TestStore();
        using var connection = OpenTable(test);
        using var insert = new WriterStatement(connection, "INSERT INTO t (b, a) VALUES ($b, $a)", ["$a", "$b"]);

        Assert.That(insert.Execute(1L, "one"), Is.EqualTo(1));
        Assert.That(TestData.Scalar(connection, "SELECT a FROM t WHERE b = 'one'"), Is.EqualTo(1));
    }

    [Test]
    public async Task Execute_ConstraintViolated_ThrowsSqliteExceptionAndStatementRunsAgain()
    {
        await using var test = new TestStore();
        using var connection = OpenTable(test);
        using var insert = new WriterStatement(connection, "INSERT INTO t (a, b) VALUES ($a, $b)", ["$a", "$b"]);
        using var transaction = connection.BeginTransaction();
        insert.Execute(1L, "one");

        var error = Assert.Throws<SqliteException>(() => insert.Execute(1L, "again"));
        Assert.Multiple(() =>
        {
            Assert.That(error!.SqliteErrorCode, Is.EqualTo(19), "SQLITE_CONSTRAINT");
            Assert.That(insert.Execute(2L, "two"), Is.EqualTo(1));
        });
        transaction.Commit();
        Assert.That(TestData.Scalar(connection, "SELECT count(*) FROM t"), Is.EqualTo(2));
    }

    [Test]
    public async Task QueryInt64_NoRowOrNull_ReturnsNull()
    {
        await using var test = new TestStore();
        using var connection = OpenTable(test);
        using var insert = new WriterStatement(connection, "INSERT INTO t (a, b) VALUES ($a, $b) RETURNING a", ["$a", "$b"]);
        using var select = new WriterStatement(connection, "SELECT length(b) FROM t WHERE a = $a", ["$a"]);

        Assert.Multiple(() =>
        {
            Assert.That(insert.QueryInt64(5L, null), Is.EqualTo(5));
            Assert.That(insert.LastInsertRowId(), Is.EqualTo(5));
            Assert.That(select.QueryInt64(5L), Is.Null);
            Assert.That(select.QueryInt64(6L), Is.Null);
        });
    }

    [Test]
    public async Task Constructor_ParametersNotAsDeclared_Throws()
    {
        await using var test = new TestStore();
        using var connection = OpenTable(test);

        Assert.Multiple(() =>
        {
            Assert.Throws<InvalidOperationException>(() => new WriterStatement(connection, "INSERT INTO t (a, b) VALUES ($a, $b)", ["$a"]));
            Assert.Throws<InvalidOperationException>(() => new WriterStatement(connection, "SELECT $a", ["$a", "$b"]));
            Assert.Throws<InvalidOperationException>(() => new WriterStatement(connection, "SELECT $a; SELECT 1", ["$a"]));
            Assert.Throws<SqliteException>(() => new WriterStatement(connection, "SELECT FROM nowhere", []));
        });
    }

    [Test]
    public async Task Bind_UnsupportedType_ThrowsArgumentException()
    {
        await using var test = new TestStore();
        using var connection = OpenTable(test);
        using var insert = new WriterStatement(connection, "INSERT INTO t (a, b) VALUES ($a, $b)", ["$a", "$b"]);

        Assert.That(() => insert.Bind(0, 1.5m), Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("value"));
    }

    private static SqliteConnection OpenTable(TestStore test)
    {
        var connection = test.Connect();
        using var create = connection.CreateCommand();
        create.CommandText = "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)";
        create.ExecuteNonQuery();
        return connection;
    }
}
