-- Erasure keeps to its workspace and reaches what a removed contact left behind
-- (docs/design/privacy.md). Kept in lock-step with ../sqlite/0041_erasure_scope.sql.

-- Local outbox mail sent for a workspace's customer carries that workspace; staff and account
-- mail (invitations, password resets, alerts) carries none. A workspace's erasure deletes only
-- its own customer mail to the address, never another workspace's mail and never staff mail.
-- Mail stored before this migration has no workspace and is left to the operator.
ALTER TABLE mail_outbox ADD COLUMN workspace_id TEXT;
CREATE INDEX mail_outbox_workspace ON mail_outbox (workspace_id, to_address);

-- While a request is open it remembers the person's address, so its approval erases every copy
-- naming them even when the contact row is gone. Cleared when the request is decided or the
-- contact is erased. The migration runs outside any workspace: the owner lifts the two
-- tables' policies for the backfill, inside this transaction.
ALTER TABLE erasure_requests ADD COLUMN email TEXT;
ALTER TABLE erasure_requests ADD COLUMN phone TEXT;
ALTER TABLE erasure_requests NO FORCE ROW LEVEL SECURITY;
ALTER TABLE contacts NO FORCE ROW LEVEL SECURITY;
UPDATE erasure_requests SET
    email = (SELECT c.email FROM contacts c WHERE c.workspace_id = erasure_requests.workspace_id
             AND c.id = erasure_requests.contact_id),
    phone = (SELECT c.phone FROM contacts c WHERE c.workspace_id = erasure_requests.workspace_id
             AND c.id = erasure_requests.contact_id)
    WHERE status = 'open';
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
ALTER TABLE erasure_requests FORCE ROW LEVEL SECURITY;
