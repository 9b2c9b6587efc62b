-- Help-desk tickets and their threads. Kept in lock-step with ../postgres/0020_tickets.sql.
CREATE TABLE tickets (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    assignee_id TEXT,
    tags TEXT NOT NULL,
    contact_id TEXT,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    first_response_at BIGINT,
    resolved_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX tickets_status ON tickets (workspace_id, status, id);
CREATE INDEX tickets_assignee ON tickets (workspace_id, assignee_id, id);
CREATE INDEX tickets_contact ON tickets (workspace_id, contact_id, id);

CREATE TABLE ticket_messages (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    author_type TEXT NOT NULL,
    author_id TEXT,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, ticket_id) REFERENCES tickets (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (workspace_id, ticket_id, id);
