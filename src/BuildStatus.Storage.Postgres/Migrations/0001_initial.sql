-- BuildStatus history schema on PostgreSQL, version 1. Runs inside the migration's transaction with search_path
-- set to the store's schema (PostgresStorageOptions.Schema), so names here are unqualified.
-- Times are bigint unix microseconds (UTC), the one precision of BuildStatus (StorageTime), exact in both directions.
-- Text columns hold strings escaped by the store (PostgreSQL text cannot hold NUL: U+0000 is stored as U+0001 '0'
-- and U+0001 as U+0001 '1'); JSON columns hold small lists that are never filtered on. Everything a BuildQuery
-- filters on is a column or a child table with an index.
-- Later migrations add the cluster tables (instances, leases, requests, the event outbox) beside these and an
-- instance reference on builds; nothing here assumes one host owns the database.

CREATE TABLE builders (
    id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text    NOT NULL UNIQUE,
    description text,
    tags        text    NOT NULL DEFAULT '[]',   -- JSON array of strings
    last_number integer NOT NULL DEFAULT 0       -- highest number ever allocated or stored, so pruning never frees one
);

CREATE TABLE workers (
    id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text    NOT NULL UNIQUE,
    host         text,
    info         text    NOT NULL DEFAULT '{}',  -- JSON object of strings
    is_connected boolean NOT NULL,
    last_seen    bigint
);

CREATE TABLE builds (
    id                bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    builder_id        bigint   NOT NULL REFERENCES builders (id) ON DELETE CASCADE,
    number            integer  NOT NULL,
    host_name         text     NOT NULL,
    reason            text,
    worker_name       text,
    started_at        bigint   NOT NULL,
    finished_at       bigint,
    result            smallint,
    state_text        text     NOT NULL,
    changes           text     NOT NULL DEFAULT '[]',  -- JSON array of {Revision, Author, Comments}
    responsible_users text     NOT NULL DEFAULT '[]',  -- JSON array of strings
    -- Newest first per builder (keyset paging, read backwards), and the uniqueness of numbers.
    CONSTRAINT ux_builds_builder_number UNIQUE (builder_id, number)
);

-- Result filter within a builder, still newest first.
CREATE INDEX ix_builds_builder_result ON builds (builder_id, result, number DESC);
-- Time-range filter within a builder.
CREATE INDEX ix_builds_builder_started ON builds (builder_id, started_at);
-- Finished / unfinished filter within a builder.
CREATE INDEX ix_builds_builder_unfinished ON builds (builder_id, number DESC) WHERE finished_at IS NULL;
-- Retention by age.
CREATE INDEX ix_builds_finished ON builds (finished_at) WHERE finished_at IS NOT NULL;
-- Recovery: the unfinished builds of one host.
CREATE INDEX ix_builds_unfinished_host ON builds (host_name, builder_id, number) WHERE finished_at IS NULL;

CREATE TABLE source_stamps (
    build_id   bigint  NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    repository text    NOT NULL,
    branch     text,
    revision   text,
    project    text,
    codebase   text,
    PRIMARY KEY (build_id, position)
);

CREATE INDEX ix_source_stamps_branch ON source_stamps (branch, build_id) WHERE branch IS NOT NULL;
CREATE INDEX ix_source_stamps_revision ON source_stamps (revision, build_id) WHERE revision IS NOT NULL;

CREATE TABLE build_properties (
    build_id bigint NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    name     text   NOT NULL,
    value    text   NOT NULL,
    source   text   NOT NULL,
    PRIMARY KEY (build_id, name)
);

CREATE INDEX ix_build_properties_name_value ON build_properties (name, value, build_id);

CREATE TABLE steps (
    build_id    bigint   NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    number      integer  NOT NULL,
    name        text     NOT NULL,
    state_text  text     NOT NULL,
    started_at  bigint,
    finished_at bigint,
    result      smallint,
    urls        text     NOT NULL DEFAULT '[]',   -- JSON array of {Name, Url}
    statistics  text     NOT NULL DEFAULT '{}',   -- JSON object of numbers
    is_hidden   boolean  NOT NULL,
    PRIMARY KEY (build_id, number)
);

CREATE TABLE logs (
    id           bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    build_id     bigint   NOT NULL,
    step_number  integer  NOT NULL,
    number       integer  NOT NULL,
    name         text     NOT NULL,
    kind         smallint NOT NULL,
    is_finished  boolean  NOT NULL,
    line_count   bigint   NOT NULL,                -- as the host reported it (StoredLog.LineCount)
    byte_count   bigint   NOT NULL,
    stored_lines bigint   NOT NULL DEFAULT 0,      -- lines stored in log_chunks: the next chunk starts here
    CONSTRAINT ux_logs_step_number UNIQUE (build_id, step_number, number),
    FOREIGN KEY (build_id, step_number) REFERENCES steps (build_id, number) ON DELETE CASCADE
);

-- One row per stored chunk: lines first_line..last_line, encoded (channel byte, varint UTF-8 length, UTF-8 bytes
-- per line) and compressed with codec (a PostgresLogCompression value; 0 when compressing did not make it smaller).
CREATE TABLE log_chunks (
    log_id     bigint   NOT NULL REFERENCES logs (id) ON DELETE CASCADE,
    first_line bigint   NOT NULL,
    last_line  bigint   NOT NULL,
    codec      smallint NOT NULL,
    content    bytea    NOT NULL,
    PRIMARY KEY (log_id, first_line)
);

-- The content is compressed by the store already: keep TOAST from trying again.
ALTER TABLE log_chunks ALTER COLUMN content SET STORAGE EXTERNAL;
