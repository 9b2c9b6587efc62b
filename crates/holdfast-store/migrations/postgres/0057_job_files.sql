-- Photos and files on a field-service job. The bytes live in the content-addressed file store
-- under the data dir (like ticket attachments: `attachments/<ab>/<sha256>`), counted in
-- `attachment_blobs` by the triggers below (the functions of 0028), so a file shared with a
-- ticket attachment or another job is deleted only when no row refers to it. Kept in
-- lock-step with ../sqlite/0057_job_files.sql.

CREATE TABLE job_files (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, job_id) REFERENCES jobs (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX job_files_job_idx ON job_files (workspace_id, job_id, id);

CREATE TRIGGER job_files_blob_ref AFTER INSERT ON job_files
    FOR EACH ROW EXECUTE FUNCTION attachment_blob_ref();
CREATE TRIGGER job_files_blob_unref AFTER DELETE ON job_files
    FOR EACH ROW EXECUTE FUNCTION attachment_blob_unref();

ALTER TABLE job_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_files FORCE ROW LEVEL SECURITY;
CREATE POLICY job_files_tenant ON job_files
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
