-- 0001_init: the command header table and the resource update table.
-- Timestamps are microseconds since the Unix epoch; body, head and data hold JSON that the
-- store never parses.

CREATE TABLE forma_commands (
    command_id  TEXT    PRIMARY KEY,
    command     TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    client_id   TEXT,
    start_ts    INTEGER NOT NULL,
    modified_ts INTEGER NOT NULL,
    revision    INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    head        TEXT    NOT NULL
);

CREATE INDEX forma_commands_state_idx     ON forma_commands (state);
CREATE INDEX forma_commands_client_id_idx ON forma_commands (client_id);
CREATE INDEX forma_commands_command_idx   ON forma_commands (command);
-- (start_ts, command_id) serves the ORDER BY of both listings without a sort.
CREATE INDEX forma_commands_start_ts_idx  ON forma_commands (start_ts, command_id);

CREATE TABLE resource_updates (
    command_id TEXT    NOT NULL REFERENCES forma_commands (command_id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    ksuid      TEXT    NOT NULL,
    operation  TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    completion INTEGER NOT NULL DEFAULT 0,
    data       TEXT    NOT NULL,
    PRIMARY KEY (command_id, position),
    UNIQUE (command_id, ksuid, operation)
);

CREATE INDEX resource_updates_state_idx ON resource_updates (state);
