-- When each member last opened each ticket: the inbox marks a ticket unread for a member while
-- it has a message (its last_message_at: a customer's message or a reply; notes do not count)
-- newer than their last look, or they never opened it.
-- Opening the ticket page marks it read; the inbox can mark tickets read or unread again.
-- Kept in lock-step with ../sqlite/0047_ticket_reads.sql.

CREATE TABLE ticket_reads (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id TEXT NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, ticket_id),
    FOREIGN KEY (workspace_id, ticket_id) REFERENCES tickets (workspace_id, id) ON DELETE CASCADE
);

ALTER TABLE ticket_reads ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_reads FORCE ROW LEVEL SECURITY;
CREATE POLICY ticket_reads_tenant ON ticket_reads
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
