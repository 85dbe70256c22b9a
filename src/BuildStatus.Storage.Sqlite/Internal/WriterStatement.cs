using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace BuildStatus.Storage.Sqlite.Internal;

/// <summary>
/// One of the writer's statements, prepared once on the connection's native handle and re-bound by position for
/// every row. Microsoft.Data.Sqlite spends about 1 µs per execution on top of SQLite (a data reader, a lookup of
/// every parameter by its name, converted to UTF-8 each time), as much as SQLite itself takes for a small insert;
/// this does none of that. Errors surface as <see cref="SqliteException"/>, as from Microsoft.Data.Sqlite.
/// </summary>
/// <remarks>
/// Not thread-safe: owned by the <see cref="BatchWriter"/>, under the store's writer lock. Every execution resets the
/// statement, so none is left open across a commit or rollback. Dispose it before its connection closes.
/// </remarks>
internal sealed class WriterStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    // SQLite's index of the parameter bound at each position.
    private readonly int[] _indexes;

    /// <summary>Prepares <paramref name="sql"/> on the connection.</summary>
    /// <param name="connection">The open writer connection.</param>
    /// <param name="sql">One statement with the named parameters <paramref name="parameterNames"/> and no others.</param>
    /// <param name="parameterNames">The parameters, in the order the callers bind them.</param>
    /// <exception cref="SqliteException">SQLite rejected the statement.</exception>
    /// <exception cref="InvalidOperationException">The statement's parameters are not exactly <paramref name="parameterNames"/>.</exception>
    public WriterStatement(SqliteConnection connection, string sql, string[] parameterNames)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The writer connection is not open.");
        var rc = raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement, out var tail);
        SqliteException.ThrowExceptionForRC(rc, _db);
        Sql = sql;
        _indexes = new int[parameterNames.Length];
        for (var i = 0; i < parameterNames.Length; i++)
        {
            _indexes[i] = raw.sqlite3_bind_parameter_index(_statement, parameterNames[i]);
        }

        if (!string.IsNullOrWhiteSpace(tail) || _indexes.Contains(0) || raw.sqlite3_bind_parameter_count(_statement) != parameterNames.Length)
        {
            _statement.Dispose();
            throw new InvalidOperationException($"'{sql}' must be one statement with exactly the parameters {string.Join(", ", parameterNames)}.");
        }
    }

    /// <summary>Gets the statement's text.</summary>
    public string Sql { get; }

    /// <summary>Binds the value of the parameter at <paramref name="position"/> (a <see cref="long"/>, <see cref="int"/>, <see cref="string"/>, byte array or <see langword="null"/>).</summary>
    public void Bind(int position, object? value)
    {
        var index = _indexes[position];
        var rc = value switch
        {
            null => raw.sqlite3_bind_null(_statement, index),
            long number => raw.sqlite3_bind_int64(_statement, index, number),
            int number => raw.sqlite3_bind_int64(_statement, index, number),
            string text => raw.sqlite3_bind_text16(_statement, index, text),
            byte[] blob => raw.sqlite3_bind_blob(_statement, index, blob),
            _ => throw new ArgumentException($"Cannot bind a {value.GetType()} to '{Sql}'.", nameof(value)),
        };
        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    /// <summary>Binds <paramref name="values"/> to the parameters in order and runs the statement.</summary>
    /// <returns>The number of rows it inserted, updated or deleted.</returns>
    /// <exception cref="SqliteException">SQLite failed; the statement is reset and the transaction is still open.</exception>
    public int Execute(params ReadOnlySpan<object?> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Bind(i, values[i]);
        }

        return Execute();
    }

    /// <summary>Runs the statement with the values bound last.</summary>
    /// <returns>The number of rows it inserted, updated or deleted.</returns>
    /// <exception cref="SqliteException">SQLite failed; the statement is reset and the transaction is still open.</exception>
    public int Execute()
    {
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
            {
            }

            SqliteException.ThrowExceptionForRC(rc == raw.SQLITE_DONE ? raw.SQLITE_OK : rc, _db);
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Binds <paramref name="values"/> to the parameters in order, runs the statement and reads its first row's first column.</summary>
    /// <returns>That value, or <see langword="null"/> when there is no row or the value is NULL.</returns>
    /// <exception cref="SqliteException">SQLite failed; the statement is reset and the transaction is still open.</exception>
    public long? QueryInt64(params ReadOnlySpan<object?> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Bind(i, values[i]);
        }

        try
        {
            // A RETURNING clause makes every change during this first step, so resetting after one row is safe.
            var rc = raw.sqlite3_step(_statement);
            if (rc == raw.SQLITE_ROW)
            {
                return raw.sqlite3_column_type(_statement, 0) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(_statement, 0);
            }

            SqliteException.ThrowExceptionForRC(rc == raw.SQLITE_DONE ? raw.SQLITE_OK : rc, _db);
            return null;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Gets the row id of the last successful INSERT on the connection (the schema has no triggers to change it).</summary>
    public long LastInsertRowId() => raw.sqlite3_last_insert_rowid(_db);

    /// <summary>Finalizes the statement.</summary>
    public void Dispose() => _statement.Dispose();
}
