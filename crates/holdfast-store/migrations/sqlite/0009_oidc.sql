-- OpenID Connect sign-in. Kept in lock-step with the other backend's 0009_oidc.sql.

-- An account's links to provider identities: (issuer, subject) is the provider's stable id.
-- Users are global (one account, many workspaces), so links are too.
CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- One row per started sign-in, spent by its callback: the PKCE verifier (sealed), the digest
-- of the browser-binding cookie, and the workspace (and invitation) it is for.
CREATE TABLE oidc_flows (
    id TEXT NOT NULL PRIMARY KEY,
    workspace_slug TEXT NOT NULL,
    invitation_hash TEXT,
    verifier_sealed TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oidc_flows_expiry_idx ON oidc_flows (expires_at);
