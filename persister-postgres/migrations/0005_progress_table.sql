-- 0005_progress_table: a resource update's progress moves to a table of its own, as in the
-- SQLite backend (same numbering, same columns).
--
-- An UPDATE writes a new version of the whole row: with the progress beside the fixed part
-- (the resource's JSON, about 7.5 KB, stored inline when it compresses under the TOAST
-- threshold), a progress report of a few hundred bytes rewrote it. `resource_updates` keeps
-- the fixed part, the state the listings count, and the completion, and is written only when
-- one of them changes.

CREATE TABLE resource_update_progress (
    command_id TEXT COLLATE "C" NOT NULL,
    position   BIGINT NOT NULL,
    progress   TEXT   NOT NULL,
    PRIMARY KEY (command_id, position),
    FOREIGN KEY (command_id, position)
        REFERENCES resource_updates (command_id, position) ON DELETE CASCADE
);

INSERT INTO resource_update_progress (command_id, position, progress)
    SELECT command_id, position, progress FROM resource_updates;

ALTER TABLE resource_updates DROP COLUMN progress;
