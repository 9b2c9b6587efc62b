-- Notes on a field-service job: internal (the team's) or customer-visible (what the client
-- portal and the job's public page will show). Kept in lock-step with ../postgres/0052_job_notes.sql.

CREATE TABLE job_notes (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    id TEXT NOT NULL,
    visibility TEXT NOT NULL,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, job_id) REFERENCES jobs (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX job_notes_job_idx ON job_notes (workspace_id, job_id, id);
