-- The client portal: a workspace's customers (contacts) sign in with a link sent by mail and
-- see their own tickets, jobs and invoices. A separate realm from the staff's: its own links,
-- sessions and cookies. Kept in lock-step with ../sqlite/0058_portal.sql.

-- Whether a contact whose access staff never set may sign in (0: no, 1: yes).
ALTER TABLE workspaces ADD COLUMN portal_default BIGINT NOT NULL DEFAULT 0;

-- A contact's own portal access, when staff chose it (else the workspace's default).
CREATE TABLE portal_access (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    allowed BIGINT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);

-- Sign-in links (`hfml_…`), stored as their token's SHA-256, made when their mail is sent.
-- Read before a workspace is known (by digest), so a directory table: the digest, the
-- workspace and contact it signs in, its life. Spent by the confirmation page's POST.
CREATE TABLE portal_links (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_links_contact_idx ON portal_links (workspace_id, contact_id);

-- A customer's signed-in browser. Staff see a contact's sessions and can end them.
CREATE TABLE portal_sessions (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    user_agent TEXT,
    ip TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_sessions_contact_idx ON portal_sessions (workspace_id, contact_id, id);

-- A session cookie's digest → its workspace and session, nothing else: the one read made
-- before a workspace is known. Ending a session deletes its row.
CREATE TABLE portal_session_cookies (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (workspace_id, session_id) REFERENCES portal_sessions (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_session_cookies_session_idx ON portal_session_cookies (workspace_id, session_id);

ALTER TABLE portal_access ENABLE ROW LEVEL SECURITY;
ALTER TABLE portal_access FORCE ROW LEVEL SECURITY;
CREATE POLICY portal_access_tenant ON portal_access
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
ALTER TABLE portal_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE portal_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY portal_sessions_tenant ON portal_sessions
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
