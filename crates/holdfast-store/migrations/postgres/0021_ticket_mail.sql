-- Email threading for tickets: each ticket's reply token (in its reply-to address), each
-- message's RFC 5322 Message-ID, and attachments kept content-addressed under the data dir.
-- Kept in lock-step with ../sqlite/0021_ticket_mail.sql.
ALTER TABLE tickets ADD COLUMN reply_token TEXT;
CREATE UNIQUE INDEX tickets_reply_token ON tickets (workspace_id, reply_token);
ALTER TABLE ticket_messages ADD COLUMN email_message_id TEXT;
CREATE INDEX ticket_messages_email ON ticket_messages (workspace_id, email_message_id);

CREATE TABLE ticket_attachments (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, message_id) REFERENCES ticket_messages (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_attachments_message ON ticket_attachments (workspace_id, message_id);

ALTER TABLE ticket_attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY ticket_attachments_tenant ON ticket_attachments
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
