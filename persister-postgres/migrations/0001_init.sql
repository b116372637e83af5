-- 0001_init: the command header table and the resource update table.
-- Timestamps are TIMESTAMPTZ with microsecond precision, converted exactly from the core's
-- microseconds since the Unix epoch; body, head and data hold JSON that the store never parses,
-- kept as TEXT so that the bytes round-trip exactly.
-- command_id sorts bytewise (COLLATE "C"), like SQLite's default collation and Rust strings, so
-- that list orders ties the same way on every server whatever its default locale.

CREATE TABLE forma_commands (
    command_id  TEXT COLLATE "C" PRIMARY KEY,
    command     TEXT        NOT NULL,
    state       TEXT        NOT NULL,
    client_id   TEXT,
    start_ts    TIMESTAMPTZ NOT NULL,
    modified_ts TIMESTAMPTZ NOT NULL,
    revision    BIGINT      NOT NULL,
    body        TEXT        NOT NULL,
    head        TEXT        NOT NULL
);

CREATE INDEX forma_commands_state_idx     ON forma_commands (state);
CREATE INDEX forma_commands_client_id_idx ON forma_commands (client_id);
CREATE INDEX forma_commands_command_idx   ON forma_commands (command);
-- (start_ts, command_id) is the order of both list queries, so a LIMIT reads only what it returns.
CREATE INDEX forma_commands_start_ts_idx  ON forma_commands (start_ts, command_id);

CREATE TABLE resource_updates (
    command_id TEXT COLLATE "C" NOT NULL
               REFERENCES forma_commands (command_id) ON DELETE CASCADE,
    position   BIGINT   NOT NULL,
    ksuid      TEXT     NOT NULL,
    operation  TEXT     NOT NULL,
    state      TEXT     NOT NULL,
    completion SMALLINT NOT NULL DEFAULT 0,
    data       TEXT     NOT NULL,
    PRIMARY KEY (command_id, position),
    UNIQUE (command_id, ksuid, operation)
);

CREATE INDEX resource_updates_state_idx ON resource_updates (state);
