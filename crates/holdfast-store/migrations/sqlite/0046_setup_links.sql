-- First-run setup links: while no workspace exists, `holdfast serve` prints a one-time link
-- (/setup/{token}) whose page creates the first workspace and its owner; `holdfast admin
-- setup-link` prints a new one. Only the token's SHA-256 is kept; issuing a link removes the
-- older ones, and one is spent with the workspace it creates. A directory table (it precedes
-- every workspace), so no row-level security.
-- Kept in lock-step with ../postgres/0046_setup_links.sql.

CREATE TABLE setup_links (
    token_hash TEXT NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
