-- Console sessions: a browser holds an opaque id in an HttpOnly cookie; only its hash is kept.
-- Kept in lock-step with the other backend's 0008_console_sessions.sql.

-- 'api' (access + rotating refresh tokens) or 'console' (cookie); each kind has its own
-- idle timeout, kept per session so a policy change does not rewrite live sessions.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE sessions ADD COLUMN idle_ms BIGINT NOT NULL DEFAULT 604800000;

-- Looked up by hash before the workspace is known (like refresh tokens), so no row-level
-- policy here: the hash of a 256-bit random value is the capability.
CREATE TABLE session_cookies (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (workspace_id, session_id) REFERENCES sessions (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX session_cookies_session_idx ON session_cookies (workspace_id, session_id);
