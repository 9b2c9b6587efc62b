-- Sign-in: sessions, rotating refresh tokens, per-account failed-login throttling.
-- Kept in lock-step with ../postgres/0002_identity.sql.

CREATE TABLE sessions (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent TEXT,
    ip TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX sessions_user_idx ON sessions (workspace_id, user_id);

-- One row per issued refresh token; the session is the token family.
CREATE TABLE refresh_tokens (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, session_id) REFERENCES sessions (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);

-- Keyed by the SHA-256 of the normalised email, whether or not such an account exists.
CREATE TABLE login_throttle (
    subject TEXT NOT NULL PRIMARY KEY,
    failures BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
