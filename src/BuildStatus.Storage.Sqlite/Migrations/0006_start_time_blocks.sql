-- BuildStatus history schema: a wide time range that ends long ago skips the later builds by blocks of numbers.
-- A BuildQuery returns the newest builds by number; a time range selects by start time. Numbers and start times
-- usually rise together, but nothing makes them (several hosts with skewed clocks, imported builds, a start time
-- rewritten later), so the start time cannot be turned into a number. Instead each block of 1,024 consecutive
-- numbers of a builder records a lower bound of its builds' start times: min_started is at most the start time of
-- every build the block holds. A block whose bound is not before the end of a range (StartedBefore) holds no
-- matching build, so the walk newest first starts below the newest block whose bound is (BuildQueryPlanner's
-- ceiling) instead of stepping through every later build. The bound only ever goes down: a deleted build leaves it
-- as it was, which is still true of the builds that remain.
-- The triggers keep the bound true for every row written, whoever writes it: on insert, and when an update changes
-- a start time, a builder or a number (an upsert that updates runs the update trigger). A row that lowers nothing
-- writes nothing, so while start times rise a build costs one lookup in this small table (an upper bound, for
-- StartedAtOrAfter, would be raised by nearly every new build: a page write per build; a range that starts late is
-- found at the newest builds anyway).

CREATE TABLE build_start_blocks (
    builder_id  INTEGER NOT NULL,
    block       INTEGER NOT NULL,   -- number / 1024
    min_started INTEGER NOT NULL,
    PRIMARY KEY (builder_id, block)
) STRICT, WITHOUT ROWID;

INSERT INTO build_start_blocks (builder_id, block, min_started)
    SELECT builder_id, number / 1024, min(started_at) FROM builds GROUP BY builder_id, number / 1024;

CREATE TRIGGER tr_builds_start_blocks_insert AFTER INSERT ON builds
BEGIN
    INSERT INTO build_start_blocks (builder_id, block, min_started)
        VALUES (new.builder_id, new.number / 1024, new.started_at)
        ON CONFLICT (builder_id, block) DO UPDATE SET min_started = excluded.min_started
        WHERE excluded.min_started < min_started;
END;

CREATE TRIGGER tr_builds_start_blocks_update AFTER UPDATE OF builder_id, number, started_at ON builds
WHEN new.started_at IS NOT old.started_at OR new.builder_id IS NOT old.builder_id OR new.number IS NOT old.number
BEGIN
    INSERT INTO build_start_blocks (builder_id, block, min_started)
        VALUES (new.builder_id, new.number / 1024, new.started_at)
        ON CONFLICT (builder_id, block) DO UPDATE SET min_started = excluded.min_started
        WHERE excluded.min_started < min_started;
END;
