-- The worker's scheduled backups, one row per UTC day: the instance that inserts the day's row
-- makes that day's backup (the others see the row and skip); a claim left unfinished for two
-- hours (the instance died) may be taken over. What it wrote (file, size, duration) or why it
-- failed is kept for /readyz and the operator. Instance-wide, so no row-level security.
-- Kept in lock-step with ../postgres/0048_backup_runs.sql.

CREATE TABLE backup_runs (
    day BIGINT NOT NULL PRIMARY KEY,
    claimed_at BIGINT NOT NULL,
    finished_at BIGINT,
    file TEXT NOT NULL DEFAULT '',
    bytes BIGINT NOT NULL DEFAULT 0,
    millis BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
