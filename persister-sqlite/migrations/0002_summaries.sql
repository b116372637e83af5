-- 0002_summaries: the nanoseconds of both timestamps below the microsecond, the JSON size of
-- each command, and the indexes of the summary listing and of retention.
-- Rows written before this migration get 0 nanoseconds (the exact times are in their head
-- JSON, which the store never parses) until their next write; their size is computed here.

ALTER TABLE forma_commands ADD COLUMN start_ts_ns    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE forma_commands ADD COLUMN modified_ts_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE forma_commands ADD COLUMN stored_bytes   INTEGER NOT NULL DEFAULT 0;

-- length() of a BLOB counts bytes; of TEXT, characters.
UPDATE forma_commands SET stored_bytes =
    length(CAST(body AS BLOB)) + length(CAST(head AS BLOB)) + COALESCE((
        SELECT sum(length(CAST(r.data AS BLOB))) FROM resource_updates AS r
        WHERE r.command_id = forma_commands.command_id
    ), 0);

-- (start_ts, start_ts_ns, command_id) is the exact listing order, read backwards.
DROP INDEX forma_commands_start_ts_idx;
CREATE INDEX forma_commands_start_ts_idx    ON forma_commands (start_ts, start_ts_ns, command_id);
-- Retention deletes the oldest final commands first.
CREATE INDEX forma_commands_modified_ts_idx ON forma_commands (modified_ts, modified_ts_ns, command_id);
