-- BuildStatus history schema on PostgreSQL, version 2: host instances with leases (IBuildInstanceStore), the instance
-- and creation id of each build, and stored build requests. Times are bigint unix microseconds like version 1; the
-- store writes instance times from the server's clock (statement_timestamp()), so hosts with skewed clocks agree.

-- An identity column draws from a sequence, which never hands out a value twice (even after a rollback or a delete):
-- an instance id is never reused.
CREATE TABLE instances (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_name    text   NOT NULL,
    started_at   bigint NOT NULL,
    heartbeat_at bigint NOT NULL,
    expires_at   bigint NOT NULL,
    stopped_at   bigint,
    claimed_by   bigint,           -- the instance recovering this one; set once claimed, this one is fenced
    recovered_at bigint
);

-- The instances whose recovery is not complete: what heartbeats scan.
CREATE INDEX ix_instances_open ON instances (id) WHERE recovered_at IS NULL;

-- The instance that created a build through CreateBuildAsync, and the creation id Core chose for it (a retried create
-- finds its first attempt's build). Set when the build is created, never changed by later writes of the build.
ALTER TABLE builds ADD COLUMN instance_id bigint, ADD COLUMN creation_id text;
CREATE UNIQUE INDEX ux_builds_creation ON builds (creation_id) WHERE creation_id IS NOT NULL;
-- Recovery: the unfinished builds of one dead instance.
CREATE INDEX ix_builds_unfinished_instance ON builds (instance_id) WHERE finished_at IS NULL AND instance_id IS NOT NULL;

-- Build requests: pending -> claimed by one instance -> started (build_number) or cancelled. The id is Core's (it
-- carries the submitting instance), so a request is written like any other row, by the pipeline's batches.
CREATE TABLE build_requests (
    id           bigint   PRIMARY KEY,
    builder_name text     NOT NULL,
    reason       text,
    stamps       text     NOT NULL DEFAULT '[]',  -- JSON array of source stamps
    properties   text     NOT NULL DEFAULT '{}',  -- JSON object: name -> {Value, Source}
    priority     integer  NOT NULL DEFAULT 0,
    submitted_at bigint   NOT NULL,
    state        smallint NOT NULL,               -- BuildRequestState: 0 pending, 1 claimed, 2 started, 3 cancelled
    claimed_by   bigint,
    build_number integer
);

CREATE INDEX ix_build_requests_open ON build_requests (builder_name, state) WHERE state < 2;
CREATE INDEX ix_build_requests_claimed ON build_requests (claimed_by) WHERE state = 1;
