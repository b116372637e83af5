-- 0003_split_resource_updates: a resource update is stored in two JSON documents, its fixed
-- part (the resource and its properties, targets, existing state) in `fixed` and what
-- progress changes (state, times, version, progress results) in `progress`, so that a
-- progress report rewrites a few hundred bytes instead of the whole resource update.
--
-- `data` (the whole document) becomes `fixed`; the data step that follows this file, in the
-- same transaction, splits each row's document into the two columns with the core codec.

ALTER TABLE resource_updates RENAME COLUMN data TO fixed;
ALTER TABLE resource_updates ADD COLUMN progress TEXT NOT NULL DEFAULT '';
