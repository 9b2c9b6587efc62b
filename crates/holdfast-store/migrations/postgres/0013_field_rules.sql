-- Field-level permissions of custom roles: {"contacts.email": "hidden"} narrows what the
-- role's permissions allow. Kept in lock-step with ../sqlite/0013_field_rules.sql.
ALTER TABLE roles ADD COLUMN field_rules TEXT NOT NULL DEFAULT '{}';
