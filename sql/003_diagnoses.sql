-- 003_diagnoses.sql - why a job failed, explained.
--
-- One row per failed checkpoint or restore whose engine gave us more than a
-- message: the hint, CRIU's decisive line, the log's last lines and the
-- whole CRIU log (bounded by the service).  Keyed by the record's id
-- ('ck-...' or 'rs-...'), so the records' own tables and statements stay as
-- they are; the jobs delete a diagnosis with its record.

CREATE TABLE diagnoses (
	record_id  TEXT    NOT NULL PRIMARY KEY,
	hint       TEXT    NOT NULL DEFAULT '',
	criu_line  TEXT    NOT NULL DEFAULT '',
	log_tail   TEXT    NOT NULL DEFAULT '',
	log        TEXT,
	created_at INTEGER NOT NULL
) STRICT;
