-- BuildStatus history schema, version 1.
-- Times are INTEGER unix milliseconds (UTC). Results are BuildResult values (Buildbot's result codes).
-- JSON columns hold small lists that are never filtered on; everything a BuildQuery filters on is a column
-- or a child table with an index.

CREATE TABLE builders (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT,
    tags        TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    last_number INTEGER NOT NULL DEFAULT 0       -- highest number ever allocated, so pruning never frees a number
) STRICT;

CREATE TABLE workers (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    host         TEXT,
    info         TEXT    NOT NULL DEFAULT '{}',  -- JSON object of strings
    is_connected INTEGER NOT NULL,
    last_seen    INTEGER
) STRICT;

CREATE TABLE builds (
    id                INTEGER PRIMARY KEY,
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

-- Newest first per builder (keyset paging), and the uniqueness of numbers.
CREATE UNIQUE INDEX ux_builds_builder_number ON builds (builder_id, number DESC);
-- Result filter within a builder, still newest first.
CREATE INDEX ix_builds_builder_result ON builds (builder_id, result, number DESC);
-- Time-range filter within a builder.
CREATE INDEX ix_builds_builder_started ON builds (builder_id, started_at);
-- Retention by age.
CREATE INDEX ix_builds_finished ON builds (finished_at) WHERE finished_at IS NOT NULL;
-- Recovery: the unfinished builds of one host.
CREATE INDEX ix_builds_unfinished ON builds (host_name, builder_id, number) WHERE finished_at IS NULL;

CREATE TABLE source_stamps (
    id         INTEGER PRIMARY KEY,
    build_id   INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    repository TEXT    NOT NULL,
    branch     TEXT,
    revision   TEXT,
    project    TEXT,
    codebase   TEXT,
    UNIQUE (build_id, position)
) STRICT;

CREATE INDEX ix_source_stamps_branch ON source_stamps (branch, build_id) WHERE branch IS NOT NULL;
CREATE INDEX ix_source_stamps_revision ON source_stamps (revision, build_id) WHERE revision IS NOT NULL;

CREATE TABLE build_properties (
    id       INTEGER PRIMARY KEY,
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    name     TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    UNIQUE (build_id, name)
) STRICT;

CREATE INDEX ix_build_properties_name_value ON build_properties (name, value, build_id);

CREATE TABLE steps (
    id          INTEGER PRIMARY KEY,
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

CREATE TABLE logs (
    id          INTEGER PRIMARY KEY,
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

CREATE INDEX ix_logs_build ON logs (build_id);

-- One row per stored chunk: lines first_line..last_line, encoded (channel byte, varint UTF-8 length, UTF-8 bytes
-- per line) and compressed with codec (a LogCompression value; 0 when compressing did not make it smaller).
CREATE TABLE log_chunks (
    id         INTEGER PRIMARY KEY,
    log_id     INTEGER NOT NULL REFERENCES logs (id) ON DELETE CASCADE,
    first_line INTEGER NOT NULL,
    last_line  INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    codec      INTEGER NOT NULL,
    content    BLOB    NOT NULL
) STRICT;

CREATE UNIQUE INDEX ux_log_chunks_log_first_line ON log_chunks (log_id, first_line);
