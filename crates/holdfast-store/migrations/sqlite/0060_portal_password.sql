-- Kept in lock-step with ../postgres/0060_portal_password.sql.
-- A portal password a customer may choose beside the sign-in link, and the single-use
-- links (`hfpw_…`, valid 2 hours) that reset a forgotten one.

-- The contact's password hash (Argon2id, as staff passwords). Staff never read it; staff
-- turning access off or changing the address clears nothing, but access still rules.
CREATE TABLE portal_passwords (
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);

-- Reset links, as their token's SHA-256: a directory table, read before a workspace is known.
CREATE TABLE portal_password_resets (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_password_resets_contact_idx ON portal_password_resets (workspace_id, contact_id);

