-- BuildStatus history schema, version 3: host instances with leases (IBuildInstanceStore), and who created each build.
-- Ids are AUTOINCREMENT so an instance id is never reused, even after rows are deleted.

CREATE TABLE instances (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    host_name    TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    stopped_at   INTEGER,
    claimed_by   INTEGER,
    recovered_at INTEGER
) STRICT;

-- The instances whose recovery is not complete: what heartbeats scan.
CREATE INDEX ix_instances_open ON instances (id) WHERE recovered_at IS NULL;

-- The instance that created a build and the creation id Core chose (idempotent CreateBuildAsync). One row per build
-- created through CreateBuildAsync with an instance; it goes with its build.
CREATE TABLE build_creations (
    build_id    INTEGER PRIMARY KEY REFERENCES builds (id) ON DELETE CASCADE,
    instance_id INTEGER NOT NULL,
    creation_id TEXT UNIQUE
) STRICT;

CREATE INDEX ix_build_creations_instance ON build_creations (instance_id);

-- Build requests: pending → claimed by one instance → started (build_number) or cancelled. The id is Core's (it
-- carries the submitting instance), so a request is written like any other row, by the pipeline.
CREATE TABLE build_requests (
    id           INTEGER PRIMARY KEY,
    builder_name TEXT    NOT NULL,
    reason       TEXT,
    stamps       TEXT    NOT NULL DEFAULT '[]',  -- JSON array of source stamps
    properties   TEXT    NOT NULL DEFAULT '{}',  -- JSON object: name -> {Value, Source}
    priority     INTEGER NOT NULL DEFAULT 0,
    submitted_at INTEGER NOT NULL,
    state        INTEGER NOT NULL,               -- BuildRequestState: 0 pending, 1 claimed, 2 started, 3 cancelled
    claimed_by   INTEGER,
    build_number INTEGER
) STRICT;

CREATE INDEX ix_build_requests_open ON build_requests (builder_name, state) WHERE state < 2;
CREATE INDEX ix_build_requests_claimed ON build_requests (claimed_by) WHERE state = 1;
