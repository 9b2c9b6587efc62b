-- Custom roles, and the built-in role set (owner, admin, manager, support, sales, technician,
-- marketing, finance, viewer, client). Kept in lock-step with ../sqlite/0011_roles.sql.

-- A workspace's own roles: a name and a permission list (JSON array of 'resource.action').
-- Memberships, API keys and invitations name a role by its built-in key or by this id (rol_…).
CREATE TABLE roles (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX roles_name_key ON roles (workspace_id, name);

-- 'member' (contacts read/write) became the built-in 'support' role.
UPDATE memberships SET role = 'support' WHERE role = 'member';
UPDATE api_keys SET role = 'support' WHERE role = 'member';
UPDATE invitations SET role = 'support' WHERE role = 'member';

ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY roles_tenant ON roles
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
