-- Look-ups that take the oldest match ("... WHERE workspace_id = $1 AND phone = $2 ORDER BY id
-- LIMIT 1", and a reply by its Message-ID) must not walk the whole workspace in id order: with
-- the id in the index, the index answers both the match and the order. Without it SQLite chose
-- the primary key and scanned every contact (a CSV import of 20 000 new contacts looked each
-- one's phone up that way).
-- Kept in lock-step with ../sqlite/0029_lookup_indexes.sql.
DROP INDEX contacts_phone_idx;
CREATE INDEX contacts_phone_idx ON contacts (workspace_id, phone, id);
DROP INDEX ticket_messages_email;
CREATE INDEX ticket_messages_email ON ticket_messages (workspace_id, email_message_id, id);

-- A contact by email: the index must not be on the expression lower(email). Under FORCEd
-- row-level security PostgreSQL evaluates the policy before any non-leakproof function, so an
-- index on lower(email) is never used and every look-up read the workspace's contacts. A
-- generated key column compared with `=` (leakproof) is an index condition on both databases.
ALTER TABLE contacts ADD COLUMN email_key TEXT GENERATED ALWAYS AS (lower(email)) STORED;
DROP INDEX contacts_email_key;
CREATE UNIQUE INDEX contacts_email_key ON contacts (workspace_id, email_key);
