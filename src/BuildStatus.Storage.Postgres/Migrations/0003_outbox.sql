-- BuildStatus history schema on PostgreSQL, version 3: the event outbox that carries status events between hosts.
-- Each batch that a host commits writes its events here in the same transaction, after its rows, holding the
-- transaction-scoped advisory lock (class 0x42535403, the schema's hash) from the insert to the commit, so sequence
-- order is commit order: a reader that has seen sequence n committed never later finds a smaller one committed.
-- NOTIFY carries only the newest sequence; readers read the rows.

CREATE TABLE events (
    seq          bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id  bigint   NOT NULL,   -- the writing instance (0 without instances)
    host_name    text     NOT NULL,
    kind         integer  NOT NULL,   -- StatusEventKinds value
    at           bigint   NOT NULL,   -- unix microseconds, the writing host's clock
    builder_name text     NOT NULL,
    build_number integer  NOT NULL,
    step_number  integer,
    log_number   integer,
    state_text   text,
    result       smallint,
    first_line   bigint   NOT NULL DEFAULT 0,
    line_count   integer  NOT NULL DEFAULT 0,
    written_at   timestamptz NOT NULL DEFAULT now()   -- the server's clock: retention does not depend on the hosts'
);

-- The highest sequence retention has deleted, so a reader behind it learns that it missed events.
CREATE TABLE event_horizon (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_through bigint  NOT NULL
);

INSERT INTO event_horizon (only_row, pruned_through) VALUES (true, 0);
