-- 002_restores.sql - restore jobs, what a checkpoint's restores measured, and
-- the tally of what containerd leaves behind on each engine.
--
-- Applied by src/store/store.c inside the transaction that sets
-- PRAGMA user_version = 2 (so no BEGIN or COMMIT here).  Never edited once
-- released: later changes go in new numbered files.
--
-- The conventions of 001_init.sql hold: STRICT tables, '' for text not known
-- yet, NULL for numbers not known yet (the store's STORE_UNSET), times in
-- milliseconds since the Unix epoch.

-- What a checkpoint learnt after it was taken.  The rows of version 1 get
-- NULL in each, which is "not known yet".  A column added to a STRICT table
-- needs its type, and SQLite checks the CHECKs against the existing rows.
ALTER TABLE checkpoints ADD COLUMN files_json TEXT;
ALTER TABLE checkpoints ADD COLUMN ready_restore_ms INTEGER
	CHECK (ready_restore_ms >= 0);
ALTER TABLE checkpoints ADD COLUMN ready_cold_ms INTEGER
	CHECK (ready_cold_ms >= 0);

-- One row per restore job and its result (struct store_restore).
-- checkpoint_id is not a foreign key: a restore's record outlives the
-- checkpoint it restored.
CREATE TABLE restores (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	id             TEXT    NOT NULL UNIQUE,
	checkpoint_id  TEXT    NOT NULL,
	engine         TEXT    NOT NULL,
	container_id   TEXT    NOT NULL DEFAULT '',
	container_name TEXT    NOT NULL DEFAULT '',
	in_place       INTEGER NOT NULL DEFAULT 0 CHECK (in_place IN (0, 1)),
	cold           INTEGER NOT NULL DEFAULT 0 CHECK (cold IN (0, 1)),
	status         TEXT    NOT NULL
		CHECK (status IN ('pending', 'running', 'ready', 'failed')),
	t_create       INTEGER CHECK (t_create >= 0),
	t_stage        INTEGER CHECK (t_stage >= 0),
	t_start        INTEGER CHECK (t_start >= 0),
	t_ready        INTEGER CHECK (t_ready >= 0),
	t_total        INTEGER CHECK (t_total >= 0),
	retries        INTEGER NOT NULL DEFAULT 0 CHECK (retries >= 0),
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	error_code     TEXT    NOT NULL DEFAULT '',
	error_message  TEXT,
	request_json   TEXT
) STRICT;

-- For the list filters and for counting a checkpoint's active restores.
-- As in 001, every index ends with the rowid (seq), so an equality filter
-- yields rows in the listing's order without a sort.
CREATE INDEX restores_status ON restores (status);
CREATE INDEX restores_container_id ON restores (container_id);
CREATE INDEX restores_container_name ON restores (container_name);
CREATE INDEX restores_engine ON restores (engine);
CREATE INDEX restores_checkpoint_id ON restores (checkpoint_id);
CREATE INDEX restores_updated_at ON restores (updated_at);

-- Per engine: the bytes of checkpoint copies its restores left in
-- containerd's temporary folder, and how many restores did so.
CREATE TABLE engine_leaks (
	engine   TEXT    PRIMARY KEY,
	bytes    INTEGER NOT NULL DEFAULT 0,
	restores INTEGER NOT NULL DEFAULT 0
) STRICT;
