-- The audit trail: append-only, hash-chained per workspace (see core/src/audit.rs).
-- Kept in lock-step with ../postgres/0010_audit.sql.

CREATE TABLE audit_events (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    request_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);
CREATE INDEX audit_events_action_idx ON audit_events (workspace_id, action, seq);
CREATE INDEX audit_events_entity_idx ON audit_events (workspace_id, entity_type, entity_id, seq);

-- The newest entry of each workspace: appends lock this row, so the chain never forks.
CREATE TABLE audit_heads (
    workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

-- Append-only: the database refuses to change or remove an entry.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
