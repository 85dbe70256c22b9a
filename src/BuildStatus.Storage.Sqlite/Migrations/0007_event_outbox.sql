-- BuildStatus history schema, version 7: the event outbox that carries status events between processes sharing the
-- file (SqliteStorageOptions.ShareEvents). Each batch writes its events in its own transaction, after its rows; the
-- database's write lock makes sequence order commit order. Sequences are AUTOINCREMENT, so never reused.

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  INTEGER NOT NULL,
    host_name    TEXT    NOT NULL,
    kind         INTEGER NOT NULL,
    at           INTEGER NOT NULL,   -- unix microseconds, the writing host's clock
    builder_name TEXT    NOT NULL,
    build_number INTEGER NOT NULL,
    step_number  INTEGER,
    log_number   INTEGER,
    state_text   TEXT,
    result       INTEGER,
    first_line   INTEGER NOT NULL DEFAULT 0,
    line_count   INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The highest sequence retention has deleted, so a reader behind it learns that it missed events.
CREATE TABLE event_horizon (
    only_row       INTEGER PRIMARY KEY CHECK (only_row = 1),
    pruned_through INTEGER NOT NULL
) STRICT;

INSERT INTO event_horizon (only_row, pruned_through) VALUES (1, 0);
