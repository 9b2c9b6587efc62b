-- The workspace's console session policy (security settings): idle and absolute limits.
-- Kept in lock-step with ../postgres/0014_session_policy.sql.
ALTER TABLE workspaces ADD COLUMN console_idle_ms BIGINT NOT NULL DEFAULT 28800000;
ALTER TABLE workspaces ADD COLUMN console_absolute_ms BIGINT NOT NULL DEFAULT 604800000;
