-- Workspace policy: members must sign in with a second factor (0/1).
ALTER TABLE workspaces ADD COLUMN require_2fa BIGINT NOT NULL DEFAULT 0;
