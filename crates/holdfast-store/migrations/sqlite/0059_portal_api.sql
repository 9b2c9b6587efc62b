-- The client portal for API clients and other sites: sessions of access and refresh tokens
-- beside the browser's cookie sessions, and the origins a workspace lets call its portal API
-- from a browser (CORS). Kept in lock-step with ../postgres/0059_portal_api.sql.

-- `browser` (a `__Host-hf_portal` cookie) or `api` (a `typ = portal` access token and its
-- refresh tokens). A credential of one kind never opens a session of the other.
ALTER TABLE portal_sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'browser';

-- Refresh tokens (`hfpr_…`) of API sessions, as their SHA-256: a directory table, read before
-- a workspace is known. Each is spent by its one use; a second use ends its session.
CREATE TABLE portal_refresh_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    FOREIGN KEY (workspace_id, session_id) REFERENCES portal_sessions (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_refresh_tokens_session_idx ON portal_refresh_tokens (workspace_id, session_id);

-- Origins (`https://host[:port]`) whose pages may call this workspace's portal API: a
-- directory table, because a browser's preflight names no workspace.
CREATE TABLE portal_origins (
    origin TEXT NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    PRIMARY KEY (origin, workspace_id)
);
CREATE INDEX portal_origins_workspace_idx ON portal_origins (workspace_id);
