-- 0002_summaries: the nanoseconds of both timestamps below the microsecond (TIMESTAMPTZ keeps
-- microseconds), the JSON size of each command, and the indexes of the summary listing and of
-- retention.
-- Rows written before this migration get 0 nanoseconds (the exact times are in their head
-- JSON, which the store never parses) until their next write; their size is computed here.

ALTER TABLE forma_commands
    ADD COLUMN start_ts_ns    INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN modified_ts_ns INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN stored_bytes   BIGINT  NOT NULL DEFAULT 0;

UPDATE forma_commands AS c SET stored_bytes =
    octet_length(c.body) + octet_length(c.head) + COALESCE((
        SELECT sum(octet_length(r.data)) FROM resource_updates AS r
        WHERE r.command_id = c.command_id
    ), 0);

-- (start_ts, start_ts_ns, command_id) is the exact listing order, read backwards.
DROP INDEX forma_commands_start_ts_idx;
CREATE INDEX forma_commands_start_ts_idx    ON forma_commands (start_ts, start_ts_ns, command_id);
-- Retention deletes the oldest final commands first.
CREATE INDEX forma_commands_modified_ts_idx ON forma_commands (modified_ts, modified_ts_ns, command_id);
