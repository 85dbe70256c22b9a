-- BuildStatus history schema: row ids of builds, steps and logs are never reused.
-- Without AUTOINCREMENT SQLite gives a new row max(id) + 1, so deleting the newest build (retention) hands its id,
-- and its steps' and logs' ids, to the next rows written: an id cached by a writer or chosen as a retention target
-- in another process would then name another build. AUTOINCREMENT keeps the highest id ever used in
-- sqlite_sequence and never goes below it. SQLite cannot add it to an existing table, so each table is rebuilt:
-- create the new table, copy every row with its id, drop the old one, rename the new one, recreate its indexes.
-- SchemaMigrator runs this with foreign keys off (as SQLite's ALTER TABLE documentation prescribes: a DROP TABLE
-- with them on would delete the children first) and checks them before it commits; the rows keep their ids, so
-- every reference (steps.build_id, logs.step_id, log_chunks.log_id, source_stamps, build_properties,
-- build_creations) still holds. A table name in a REFERENCES clause is resolved when it is used, so the children
-- refer to the rebuilt tables once they carry the old names.
-- Not rebuilt: log_chunks, source_stamps and build_properties, whose ids no cache, retention target or reader ever
-- holds beyond the statement that reads them (rows are found by log, line or build), and log_chunks holds nearly
-- every byte of a history, which a rebuild would copy at the first open; builders and workers, which are never
-- deleted; instances, AUTOINCREMENT since version 3.

CREATE TABLE new_builds (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    builder_id        INTEGER NOT NULL REFERENCES builders (id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    host_name         TEXT    NOT NULL,
    reason            TEXT,
    worker_name       TEXT,
    started_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    result            INTEGER,
    state_text        TEXT    NOT NULL,
    changes           TEXT    NOT NULL DEFAULT '[]',  -- JSON array of {Revision, Author, Comments}
    responsible_users TEXT    NOT NULL DEFAULT '[]'   -- JSON array of strings
) STRICT;

CREATE TABLE new_steps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id    INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    state_text  TEXT    NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    result      INTEGER,
    urls        TEXT    NOT NULL DEFAULT '[]',   -- JSON array of {Name, Url}
    statistics  TEXT    NOT NULL DEFAULT '{}',   -- JSON object of numbers
    is_hidden   INTEGER NOT NULL,
    UNIQUE (build_id, number)
) STRICT;

CREATE TABLE new_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    step_id     INTEGER NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    build_id    INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,  -- denormalized for retention
    number      INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    kind        INTEGER NOT NULL,
    is_finished INTEGER NOT NULL,
    line_count  INTEGER NOT NULL,
    byte_count  INTEGER NOT NULL,
    UNIQUE (step_id, number)
) STRICT;

INSERT INTO new_builds (id, builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text, changes, responsible_users)
    SELECT id, builder_id, number, host_name, reason, worker_name, started_at, finished_at, result, state_text, changes, responsible_users FROM builds ORDER BY id;
INSERT INTO new_steps (id, build_id, number, name, state_text, started_at, finished_at, result, urls, statistics, is_hidden)
    SELECT id, build_id, number, name, state_text, started_at, finished_at, result, urls, statistics, is_hidden FROM steps ORDER BY id;
INSERT INTO new_logs (id, step_id, build_id, number, name, kind, is_finished, line_count, byte_count)
    SELECT id, step_id, build_id, number, name, kind, is_finished, line_count, byte_count FROM logs ORDER BY id;

DROP TABLE logs;
DROP TABLE steps;
DROP TABLE builds;
ALTER TABLE new_builds RENAME TO builds;
ALTER TABLE new_steps RENAME TO steps;
ALTER TABLE new_logs RENAME TO logs;

-- The highest id in use is the highest one known (ids deleted before this version are lost), so new rows start above it.
DELETE FROM sqlite_sequence WHERE name IN ('builds', 'steps', 'logs', 'new_builds', 'new_steps', 'new_logs');
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'builds', coalesce(max(id), 0) FROM builds
    UNION ALL SELECT 'steps', coalesce(max(id), 0) FROM steps
    UNION ALL SELECT 'logs', coalesce(max(id), 0) FROM logs;

-- The indexes of versions 1 and 4, unchanged (see their scripts for what each is for).
CREATE UNIQUE INDEX ux_builds_builder_number ON builds (builder_id, number DESC);
CREATE INDEX ix_builds_builder_result ON builds (builder_id, result, number DESC);
CREATE INDEX ix_builds_builder_started ON builds (builder_id, started_at);
CREATE INDEX ix_builds_finished ON builds (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX ix_builds_unfinished ON builds (host_name, builder_id, number) WHERE finished_at IS NULL;
CREATE INDEX ix_builds_builder_unfinished ON builds (builder_id, number DESC) WHERE finished_at IS NULL;
CREATE INDEX ix_builds_builder_number_started ON builds (builder_id, number DESC, started_at);
CREATE INDEX ix_logs_build ON logs (build_id);
