-- Data-subject rights and retention (docs/design/privacy.md). Kept in lock-step with
-- ../sqlite/0028_privacy.sql.

-- Per contact: a legal hold (no erasure, no retention purge while set) and a retention period
-- in days that replaces the workspace's periods for this contact's data (NULL: the workspace's).
ALTER TABLE contacts ADD COLUMN legal_hold BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN retention_days BIGINT;

-- Per workspace: retention periods in days (NULL: keep forever), the UTC day (days since the
-- epoch) of the last daily retention run, and that run's counts (JSON, no personal data).
ALTER TABLE workspaces ADD COLUMN retention_closed_tickets_days BIGINT;
ALTER TABLE workspaces ADD COLUMN retention_messages_days BIGINT;
ALTER TABLE workspaces ADD COLUMN retention_inactive_contacts_days BIGINT;
ALTER TABLE workspaces ADD COLUMN retention_last_day BIGINT;
ALTER TABLE workspaces ADD COLUMN retention_last_report TEXT;
-- Set once any contact of the workspace has its own period, so the daily run visits it.
ALTER TABLE workspaces ADD COLUMN retention_contact_periods BIGINT NOT NULL DEFAULT 0;

-- Erasure requests waiting for an operator's decision. `contact_id` is kept after the erasure
-- as a pseudonymous reference (no foreign key: the contact is gone by then). At most one open
-- request per contact.
CREATE TABLE erasure_requests (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    reason TEXT,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX erasure_requests_open ON erasure_requests (workspace_id, contact_id) WHERE status = 'open';
CREATE INDEX erasure_requests_due ON erasure_requests (workspace_id, status, due_at);

ALTER TABLE erasure_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE erasure_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY erasure_requests_tenant ON erasure_requests
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

-- How many attachment rows (of any workspace) refer to each content-addressed file, kept by
-- triggers, so a file is deleted only when nothing refers to it any more. Hashes only, so it
-- is a directory table without a tenant policy. The migration runs outside any workspace:
-- the owner lifts the attachments policy for the backfill, inside this transaction.
CREATE TABLE attachment_blobs (
    sha256 TEXT NOT NULL PRIMARY KEY,
    refs BIGINT NOT NULL
);
ALTER TABLE ticket_attachments NO FORCE ROW LEVEL SECURITY;
INSERT INTO attachment_blobs (sha256, refs)
    SELECT sha256, count(*) FROM ticket_attachments GROUP BY sha256;
ALTER TABLE ticket_attachments FORCE ROW LEVEL SECURITY;

CREATE FUNCTION attachment_blob_ref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO attachment_blobs (sha256, refs) VALUES (NEW.sha256, 1)
        ON CONFLICT (sha256) DO UPDATE SET refs = attachment_blobs.refs + 1;
    RETURN NULL;
END
$$;
CREATE FUNCTION attachment_blob_unref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE attachment_blobs SET refs = refs - 1 WHERE sha256 = OLD.sha256;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_attachments_blob_ref AFTER INSERT ON ticket_attachments
    FOR EACH ROW EXECUTE FUNCTION attachment_blob_ref();
CREATE TRIGGER ticket_attachments_blob_unref AFTER DELETE ON ticket_attachments
    FOR EACH ROW EXECUTE FUNCTION attachment_blob_unref();
