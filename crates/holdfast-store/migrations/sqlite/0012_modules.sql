-- Modules a workspace has on (a JSON array of names); AI assistant and agent door start off.
-- Kept in lock-step with ../postgres/0012_modules.sql.
ALTER TABLE workspaces ADD COLUMN modules TEXT NOT NULL DEFAULT '["helpdesk","crm","field_service","invoicing","automation","client_portal"]';
