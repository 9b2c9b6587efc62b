-- Who made each API key (the user id; NULL for keys made by another key or on the command
-- line, and for keys made before this column), so that removing a member can revoke the keys
-- they made: a key must not outlive its maker's access.
-- Kept in lock-step with ../sqlite/0043_api_key_creator.sql.
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
CREATE INDEX api_keys_created_by_idx ON api_keys (workspace_id, created_by, id);
