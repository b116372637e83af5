-- 0005_progress_table: a resource update's progress moves to a table of its own.
--
-- SQLite rewrites a whole row on UPDATE, and a row whose size changes is written again with
-- every overflow page of its fixed part (the resource's JSON, about 7.5 KB): a progress
-- report of a few hundred bytes wrote about 16 KB of WAL. Its own row, small enough for one
-- page, makes it write what it changes; `resource_updates` keeps the fixed part, the state
-- the listings count, and the completion, and is written only when one of them changes.

CREATE TABLE resource_update_progress (
    command_id TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    progress   TEXT    NOT NULL,
    PRIMARY KEY (command_id, position),
    FOREIGN KEY (command_id, position)
        REFERENCES resource_updates (command_id, position) ON DELETE CASCADE
);

INSERT INTO resource_update_progress (command_id, position, progress)
    SELECT command_id, position, progress FROM resource_updates;

ALTER TABLE resource_updates DROP COLUMN progress;
