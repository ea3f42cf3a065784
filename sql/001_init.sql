-- 001_init.sql - the first schema: one table of checkpoint records.
--
-- Applied by src/store/store.c inside a transaction that also sets
-- PRAGMA user_version = 1, so a migration file must not BEGIN or COMMIT
-- itself.  Later changes go in new numbered files; this one is never edited
-- once released.
--
-- One row per checkpoint job and its result (struct store_checkpoint).  Text
-- that is not known yet is '' (never NULL); numbers that are not known yet
-- (sizes, timings) are NULL, which the store maps to STORE_UNSET.  Times are
-- milliseconds since the Unix epoch.  STRICT makes SQLite refuse a value of
-- the wrong type instead of storing it.

CREATE TABLE checkpoints (
	seq              INTEGER PRIMARY KEY AUTOINCREMENT,
	id               TEXT    NOT NULL UNIQUE,
	name             TEXT    NOT NULL,
	container_id     TEXT    NOT NULL,
	container_name   TEXT    NOT NULL,
	engine           TEXT    NOT NULL,
	status           TEXT    NOT NULL
		CHECK (status IN ('pending', 'running', 'ready', 'failed')),
	leave_running    INTEGER NOT NULL DEFAULT 0 CHECK (leave_running IN (0, 1)),
	image_id         TEXT    NOT NULL DEFAULT '',
	image_repository TEXT    NOT NULL DEFAULT '',
	image_tag        TEXT    NOT NULL DEFAULT '',
	image_size       INTEGER CHECK (image_size >= 0),
	size_bytes       INTEGER CHECK (size_bytes >= 0),
	directory        TEXT    NOT NULL DEFAULT '',
	t_commit         INTEGER CHECK (t_commit >= 0),
	t_checkpoint     INTEGER CHECK (t_checkpoint >= 0),
	t_measure        INTEGER CHECK (t_measure >= 0),
	t_total          INTEGER CHECK (t_total >= 0),
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	error_code       TEXT    NOT NULL DEFAULT '',
	error_message    TEXT,
	config_json      TEXT
) STRICT;

-- A name is taken while a checkpoint of that container by that engine is
-- not failed; a failed one frees it for a retry.
CREATE UNIQUE INDEX checkpoints_live_name
	ON checkpoints (engine, container_id, name)
	WHERE status != 'failed';

-- For the list filters.  Every index ends with the rowid (seq), so an
-- equality filter also yields rows in the listing's order without a sort.
CREATE INDEX checkpoints_status ON checkpoints (status);
CREATE INDEX checkpoints_container_id ON checkpoints (container_id);
CREATE INDEX checkpoints_container_name ON checkpoints (container_name);
CREATE INDEX checkpoints_engine ON checkpoints (engine);
CREATE INDEX checkpoints_updated_at ON checkpoints (updated_at);
