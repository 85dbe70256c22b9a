-- BuildStatus history schema: a wide time range skips the builds that started outside it by blocks of numbers.
-- A BuildQuery returns the newest builds by number; a time range selects by start time. Numbers and start times
-- usually rise together, but nothing makes them (several hosts with skewed clocks, imported builds, a start time
-- rewritten later), so the start time cannot be turned into a number. Instead each block of 1,024 consecutive
-- numbers of a builder records bounds of its builds' start times: min_started is at most, and max_started at least,
-- the start time of every build the block holds. A block whose bounds miss the range holds no matching build, so
-- the walk newest first starts below the newest block whose bounds meet it (BuildQueryPlanner.TimeCeiling) instead
-- of stepping through every later build. The bounds only ever widen: a deleted build leaves them as they were,
-- which is still true of the builds that remain.
-- The triggers keep the bounds true for every row written, whoever writes it: on insert, and when an update changes
-- a start time, a builder or a number (an upsert that updates runs the update trigger). A row that widens nothing
-- changes nothing, so a build's repeated snapshots cost one lookup in this small table.

CREATE TABLE build_start_blocks (
    builder_id  INTEGER NOT NULL,
    block       INTEGER NOT NULL,   -- number / 1024
    min_started INTEGER NOT NULL,
    max_started INTEGER NOT NULL,
    PRIMARY KEY (builder_id, block)
) STRICT, WITHOUT ROWID;

INSERT INTO build_start_blocks (builder_id, block, min_started, max_started)
    SELECT builder_id, number / 1024, min(started_at), max(started_at) FROM builds GROUP BY builder_id, number / 1024;

CREATE TRIGGER tr_builds_start_blocks_insert AFTER INSERT ON builds
BEGIN
    INSERT INTO build_start_blocks (builder_id, block, min_started, max_started)
        VALUES (new.builder_id, new.number / 1024, new.started_at, new.started_at)
        ON CONFLICT (builder_id, block) DO UPDATE SET
            min_started = min(min_started, excluded.min_started),
            max_started = max(max_started, excluded.max_started)
        WHERE excluded.min_started < min_started OR excluded.max_started > max_started;
END;

CREATE TRIGGER tr_builds_start_blocks_update AFTER UPDATE OF builder_id, number, started_at ON builds
WHEN new.started_at IS NOT old.started_at OR new.builder_id IS NOT old.builder_id OR new.number IS NOT old.number
BEGIN
    INSERT INTO build_start_blocks (builder_id, block, min_started, max_started)
        VALUES (new.builder_id, new.number / 1024, new.started_at, new.started_at)
        ON CONFLICT (builder_id, block) DO UPDATE SET
            min_started = min(min_started, excluded.min_started),
            max_started = max(max_started, excluded.max_started)
        WHERE excluded.min_started < min_started OR excluded.max_started > max_started;
END;
