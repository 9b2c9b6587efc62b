-- Delivery status of replies mailed to customers: queued with the reply, sent when the relay
-- took it, then what the mail provider reports (delivered, deferred, failed, complained).
-- Kept in lock-step with ../postgres/0024_delivery_status.sql.
ALTER TABLE ticket_messages ADD COLUMN delivery_status TEXT;
ALTER TABLE ticket_messages ADD COLUMN delivery_detail TEXT;
ALTER TABLE ticket_messages ADD COLUMN delivery_updated_at BIGINT;
