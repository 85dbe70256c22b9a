-- BuildStatus history schema, version 2: times are INTEGER unix microseconds (UTC), the one precision of
-- BuildStatus (StorageTime), instead of version 1's milliseconds. Existing values are converted in place, within
-- the migration's transaction, so a database written by version 1 reads back the same instants (NULL stays NULL).

UPDATE builds SET started_at = started_at * 1000, finished_at = finished_at * 1000;
UPDATE steps SET started_at = started_at * 1000, finished_at = finished_at * 1000;
UPDATE workers SET last_seen = last_seen * 1000;
