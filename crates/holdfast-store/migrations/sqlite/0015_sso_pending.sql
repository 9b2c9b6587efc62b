-- A single sign-on that the provider proved but the account must still confirm: with its
-- password the first time a provider identity is linked to it, with its authenticator code when
-- it has one. Single use; the browser holds the token, the database its hash.
-- Kept in lock-step with ../postgres/0015_sso_pending.sql.
CREATE TABLE sso_pending (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_slug TEXT NOT NULL,
    invitation_hash TEXT,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    needs_link BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
