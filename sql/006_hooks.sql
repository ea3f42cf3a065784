-- 006_hooks.sql - hooks around the dump and the restore.
--
-- Applied by src/store/store.c inside the transaction that sets
-- PRAGMA user_version = 6 (so no BEGIN or COMMIT here).  Never edited once
-- released.
--
-- checkpoints.hooks_json: what the request asked for, profile filled in
--   ({"profile": "jvm"|null, "before": [...], "settle": bool,
--     "after_restore": [...]}), NULL when it asked for none.
-- checkpoints.hook_results_json / restores.hook_results_json: what each
--   hook did ([{"exec": [...], "exit_code": n, "ms": n, "output": "..."}],
--   output bounded), NULL when none ran.
-- memory_before_hooks / memory_at_dump: the container's memory use (bytes)
--   before the hooks and right before the dump; NULL when not measured.
-- t_before / t_settle / t_after: milliseconds, NULL until done.
ALTER TABLE checkpoints ADD COLUMN hooks_json TEXT;
ALTER TABLE checkpoints ADD COLUMN hook_results_json TEXT;
ALTER TABLE checkpoints ADD COLUMN memory_before_hooks INTEGER;
ALTER TABLE checkpoints ADD COLUMN memory_at_dump INTEGER;
ALTER TABLE checkpoints ADD COLUMN t_before INTEGER;
ALTER TABLE checkpoints ADD COLUMN t_settle INTEGER;
ALTER TABLE restores ADD COLUMN hook_results_json TEXT;
ALTER TABLE restores ADD COLUMN t_after INTEGER;
