-- BuildStatus history schema: every BuildQuery filter walks one index range, newest first.
-- A BuildQuery selects builds of one builder by number, newest first, so each filter needs an index keyed by the
-- filtered value, then builder, then number: a page is then the first rows of one range whatever the value's
-- frequency (a rare branch, a branch with no builds, one revision, one pull request). Source stamps and properties
-- therefore carry their build's builder_id and number, copied from builds when they are written (a build's key never
-- changes, so the copies never go stale). Self-contained: it changes nothing that another script relies on.

ALTER TABLE source_stamps ADD COLUMN builder_id INTEGER;
ALTER TABLE source_stamps ADD COLUMN number INTEGER;
UPDATE source_stamps SET builder_id = b.builder_id, number = b.number FROM builds b WHERE b.id = source_stamps.build_id;

ALTER TABLE build_properties ADD COLUMN builder_id INTEGER;
ALTER TABLE build_properties ADD COLUMN number INTEGER;
UPDATE build_properties SET builder_id = b.builder_id, number = b.number FROM builds b WHERE b.id = build_properties.build_id;

-- Replaced by the builder-and-number keyed indexes below (lookups by build use the UNIQUE (build_id, ...) indexes).
DROP INDEX ix_source_stamps_branch;
DROP INDEX ix_source_stamps_revision;
DROP INDEX ix_build_properties_name_value;

-- Branch and revision filters: "builds of branch X (or revision X) of builder Y, newest first".
CREATE INDEX ix_source_stamps_branch_builder_number ON source_stamps (branch, builder_id, number DESC) WHERE branch IS NOT NULL;
CREATE INDEX ix_source_stamps_revision_builder_number ON source_stamps (revision, builder_id, number DESC) WHERE revision IS NOT NULL;

-- Property filters: name and value, or name alone (any value).
CREATE INDEX ix_build_properties_name_value_builder_number ON build_properties (name, value, builder_id, number DESC);
CREATE INDEX ix_build_properties_name_builder_number ON build_properties (name, builder_id, number DESC);

-- Finished = false: the few unfinished builds of a builder, newest first (ix_builds_unfinished is keyed by host first).
CREATE INDEX ix_builds_builder_unfinished ON builds (builder_id, number DESC) WHERE finished_at IS NULL;

-- A wide time range walks the builder's history newest first: with the start time in the index, the builds it
-- skips are checked from the index alone, without reading their rows.
CREATE INDEX ix_builds_builder_number_started ON builds (builder_id, number DESC, started_at);
