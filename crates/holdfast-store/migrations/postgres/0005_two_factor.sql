-- TOTP second factor per account: the secret sealed with the master-derived key, the last
-- accepted step (a code works once), and hashed single-use recovery codes.
-- Kept in lock-step with ../sqlite/0005_two_factor.sql.

CREATE TABLE user_totp (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
