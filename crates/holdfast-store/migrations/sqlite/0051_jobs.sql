-- Field service: a workspace's time zone (scheduled windows are typed and shown in it, and
-- stored as UTC), jobs, their assigned technicians and their status history.
-- Kept in lock-step with ../postgres/0051_jobs.sql.

ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- A visit to a customer. The checklist and line items are JSON arrays written whole by the
-- store; the window is two UTC instants (ms), both set or both NULL.
CREATE TABLE jobs (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    company_id TEXT,
    title TEXT NOT NULL,
    description TEXT,
    service_address TEXT,
    status TEXT NOT NULL,
    window_start BIGINT,
    window_end BIGINT,
    checklist TEXT NOT NULL DEFAULT '[]',
    line_items TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
-- The dispatch board: a date range, newest window first; a contact's jobs.
CREATE INDEX jobs_window_idx ON jobs (workspace_id, window_start, id);
CREATE INDEX jobs_contact_idx ON jobs (workspace_id, contact_id, id);

-- Who works a job. A technician's jobs (their scope, and double-booking checks) come from here.
CREATE TABLE job_technicians (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (workspace_id, job_id, user_id),
    FOREIGN KEY (workspace_id, job_id) REFERENCES jobs (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX job_technicians_user_idx ON job_technicians (workspace_id, user_id, job_id);

-- Every status change, with who and when.
CREATE TABLE job_status_changes (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, job_id, seq),
    FOREIGN KEY (workspace_id, job_id) REFERENCES jobs (workspace_id, id) ON DELETE CASCADE
);
