-- 0004_state_counts: a listing counts each command's resource updates per state. An index on
-- (command_id, state) answers that from the index alone, without reading the rows, each of
-- which holds its resource's JSON (a listing of 100 commands of 196 resources read 20,000
-- rows' pages). It replaces the index on state alone, which no query used and which every
-- state change had to update as this one does.

DROP INDEX resource_updates_state_idx;
CREATE INDEX resource_updates_command_state_idx ON resource_updates (command_id, state);
