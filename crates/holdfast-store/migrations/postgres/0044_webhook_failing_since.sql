-- An endpoint is disabled only after every attempt failed for a period (webhook_disable_after_hours),
-- never for a burst of failures: failing_since is the first failure of the current streak (NULL
-- while healthy; a success clears it). Recovery re-queues an endpoint's undelivered (failed or held)
-- messages since a time: the index answers it without reading delivered ones.
-- Kept in lock-step with ../sqlite/0044_webhook_failing_since.sql.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since BIGINT;
CREATE INDEX webhook_messages_endpoint_status ON webhook_messages (workspace_id, endpoint_id, status, created_at);

-- Messages an endpoint disabled by the old failure count never sent (their jobs died) are kept
-- as held, so an admin can recover them after enabling the endpoint. The migration runs outside
-- any workspace, so the owner lifts the policies for this one statement, inside the migration's
-- transaction (as 0025 did).
ALTER TABLE webhook_messages NO FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints NO FORCE ROW LEVEL SECURITY;
UPDATE webhook_messages SET status = 'held'
WHERE status IN ('pending', 'failing') AND EXISTS (
    SELECT 1 FROM webhook_endpoints e
    WHERE e.workspace_id = webhook_messages.workspace_id AND e.id = webhook_messages.endpoint_id AND e.enabled = 0);
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_messages FORCE ROW LEVEL SECURITY;
