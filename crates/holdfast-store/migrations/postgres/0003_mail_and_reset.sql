-- Outgoing mail kept locally when no SMTP relay is configured, and password-reset tokens.
-- Kept in lock-step with ../sqlite/0003_mail_and_reset.sql.

CREATE TABLE mail_outbox (
    id TEXT NOT NULL PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mail_outbox_to_idx ON mail_outbox (to_address, created_at);

CREATE TABLE reset_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE UNIQUE INDEX reset_tokens_hash_key ON reset_tokens (token_hash);
