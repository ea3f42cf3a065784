-- 005_podman.sql - Podman engines: which kind of engine took a checkpoint,
-- the exported archive's digest, and CRIU's own statistics.
--
-- Applied by src/store/store.c inside the transaction that sets
-- PRAGMA user_version = 5 (so no BEGIN or COMMIT here).  Never edited once
-- released.
--
-- On a Podman engine a checkpoint is an archive exported through libpod and
-- kept by the service: checkpoints.directory then names that file on the
-- service's host, and archive_sha256 is its SHA-256 (hex).  criu_stats_json
-- is the JSON object of CRIU's statistics ({"freezing_time_us": ...}), NULL
-- when the engine gave none.
ALTER TABLE checkpoints ADD COLUMN engine_kind TEXT NOT NULL DEFAULT 'docker'
	CHECK (engine_kind IN ('docker', 'podman'));
ALTER TABLE checkpoints ADD COLUMN archive_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE checkpoints ADD COLUMN criu_stats_json TEXT;
ALTER TABLE restores ADD COLUMN criu_stats_json TEXT;
