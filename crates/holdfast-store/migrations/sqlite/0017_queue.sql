-- The durable job queue (outbox): a job is inserted in the same transaction as the change
-- that causes it, and workers claim it with a lease. Kept in lock-step with ../postgres/0017_queue.sql.
-- Not tenant-filtered by row-level security: workers claim across workspaces, and a job's
-- handler reopens its workspace's scope from workspace_id (written by a tenant transaction).
CREATE TABLE queue_jobs (
    id TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    lease_until BIGINT,
    lease_token TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX queue_jobs_ready ON queue_jobs (state, run_at);
CREATE INDEX queue_jobs_workspace ON queue_jobs (workspace_id, id);
