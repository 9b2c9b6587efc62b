-- How a workspace's client portal looks: an accent colour and a logo. The colour and the logo's
-- digest sit on the workspace row, read with the portal's name before anyone signs in; the
-- logo's bytes (a PNG, JPEG or WebP image, at most 256 KiB) in their own tenant table, read
-- only when the logo itself is asked for. Kept in lock-step with ../sqlite/0063_portal_brand.sql.
ALTER TABLE workspaces ADD COLUMN portal_colour TEXT;
ALTER TABLE workspaces ADD COLUMN portal_logo_sha256 TEXT;
CREATE TABLE workspace_logos (
    workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    size_bytes BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE workspace_logos ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_logos FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_logos_tenant ON workspace_logos
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
