-- Operator controls (`holdfast admin suspend-workspace`, `lock-user`): a suspended workspace
-- keeps its data but no tenant transaction opens for it (every route answers 403, its jobs wait);
-- a locked account signs in nowhere and its sessions end. The reason is the operator's note.
-- Kept in lock-step with ../sqlite/0049_operator_controls.sql.

ALTER TABLE workspaces ADD COLUMN suspended_at BIGINT;
ALTER TABLE workspaces ADD COLUMN suspended_reason TEXT;
ALTER TABLE users ADD COLUMN locked_at BIGINT;
ALTER TABLE users ADD COLUMN locked_reason TEXT;
