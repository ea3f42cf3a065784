-- 004_engines.sql - the engines the service talks to, and the copies of a
-- checkpoint placed on engines other than its own.
--
-- Applied by src/store/store.c inside the transaction that sets
-- PRAGMA user_version = 4 (so no BEGIN or COMMIT here).  Never edited once
-- released: later changes go in new numbered files.
--
-- The conventions of 001_init.sql hold: STRICT tables, '' for text not known
-- yet, NULL for numbers not known yet (the store's STORE_UNSET), times in
-- milliseconds since the Unix epoch.

-- One row per engine added through the API or by an --engine flag (struct
-- store_engine).  tls_dir is '' for plain HTTP.
CREATE TABLE engines (
	name       TEXT    PRIMARY KEY,
	url        TEXT    NOT NULL,
	tls_dir    TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
) STRICT;

-- One row per copy of a checkpoint on another engine (struct store_copy).
-- Neither column of the key is a foreign key: the jobs delete a checkpoint's
-- copies with it, and a copy's record says where files were left even when
-- its engine is gone.  bytes is NULL until the copy is measured.
CREATE TABLE checkpoint_copies (
	checkpoint_id TEXT    NOT NULL,
	engine        TEXT    NOT NULL,
	status        TEXT    NOT NULL
		CHECK (status IN ('pending', 'running', 'ready', 'failed')),
	directory     TEXT    NOT NULL DEFAULT '',
	bytes         INTEGER CHECK (bytes >= 0),
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	error_message TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (checkpoint_id, engine)
) STRICT;

-- For counting what lives on an engine (store_engine_usage()); the primary
-- key already serves the lookups by checkpoint.
CREATE INDEX checkpoint_copies_engine ON checkpoint_copies (engine);
