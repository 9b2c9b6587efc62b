-- Key generations (holdfast keys rotate-master, holdfast keys rotate-tokens). Instance-wide,
-- so no row-level security; neither table holds a key in clear.
--
-- master_keys: one row per master key generation, named by its check value (an HMAC of a
-- fixed label, not the key). state is active (seals), draining (being rotated away from; its
-- values still open) or retired (opens nothing). While a rotation runs, the new key is kept
-- sealed under the old (key_under_previous) and the old under the new (previous_under_key), so
-- a process holding either opens both; both are wiped when the rotation finishes.
--
-- token_keys: one row per generation of the access-token, CSRF, preference-link and
-- widget-form keys, sealed under the master key (keys_sealed, re-sealed by a master rotation).
-- The newest live generation signs; one whose verify_until has passed is retired and its keys
-- wiped.
-- Kept in lock-step with ../sqlite/0050_key_generations.sql.

CREATE TABLE master_keys (
    generation BIGINT NOT NULL PRIMARY KEY,
    check_value TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    key_under_previous TEXT,
    previous_under_key TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE token_keys (
    generation BIGINT NOT NULL PRIMARY KEY,
    keys_sealed TEXT,
    created_at BIGINT NOT NULL,
    verify_until BIGINT,
    retired_at BIGINT
);
