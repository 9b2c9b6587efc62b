-- The website chat widget. `widget_keys` maps a public widget key (`wgt_…`, embedded in the
-- customer's site) to its workspace: the one thing the widget's public routes read before a
-- tenant is known (store::widget::unscoped_widget_target). Everything else is tenant data:
-- the settings (enabled, allowed origins, the sealed identity-verification secret), the
-- visitor tokens that let one browser read its one conversation (only their SHA-256 is kept),
-- and verified identities (the site's user id → the contact it was first seen as).
-- Kept in lock-step with ../sqlite/0022_widget.sql.
CREATE TABLE widget_keys (
    public_key TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX widget_keys_workspace ON widget_keys (workspace_id);

CREATE TABLE widget_settings (
    workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    enabled BIGINT NOT NULL,
    allowed_origins TEXT NOT NULL,
    identity_secret_sealed TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE widget_visitors (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    ticket_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    claimed_email TEXT,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (workspace_id, ticket_id) REFERENCES tickets (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX widget_visitors_ticket ON widget_visitors (workspace_id, ticket_id);

CREATE TABLE widget_identities (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);

-- widget_keys is a directory table (key → workspace id, nothing else), read before a tenant
-- exists, so it has no policy; the other three hold tenant data.
ALTER TABLE widget_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_settings_tenant ON widget_settings
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

ALTER TABLE widget_visitors ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_visitors FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_visitors_tenant ON widget_visitors
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

ALTER TABLE widget_identities ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_identities FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_identities_tenant ON widget_identities
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
