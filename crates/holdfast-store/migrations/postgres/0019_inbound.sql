-- Inbound provider webhooks: each workspace's signing secrets, the verified events it received
-- (idempotent on the provider's event id) and the signatures seen recently (replay protection).
-- Kept in lock-step with ../sqlite/0019_inbound.sql.
CREATE TABLE inbound_secrets (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, provider)
);

CREATE TABLE inbound_events (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    provider TEXT NOT NULL,
    event_key TEXT NOT NULL,
    event_type TEXT,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    body_encoding TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    handled_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX inbound_events_key ON inbound_events (workspace_id, provider, event_key);

CREATE TABLE inbound_replay (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    replay_key TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, replay_key)
);
CREATE INDEX inbound_replay_expiry ON inbound_replay (expires_at);

ALTER TABLE inbound_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbound_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY inbound_secrets_tenant ON inbound_secrets
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

ALTER TABLE inbound_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbound_events FORCE ROW LEVEL SECURITY;
CREATE POLICY inbound_events_tenant ON inbound_events
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

-- inbound_replay holds only signature digests and expiry times, no tenant data, and is pruned
-- across workspaces by the worker, so it has no row-level security policy.
