-- Ticket search at size. Kept in lock-step with ../postgres/0025_search_speed.sql, except the
-- search index, which is dialect-specific by design (docs/design/helpdesk.md): FTS5 here,
-- tsvector there.
--
-- 0023 indexed one FTS5 document per subject and per message, and read each match's
-- UNINDEXED ticket and workspace columns to find its ticket. Now each ticket is ONE document
-- (its subject and every message body, notes included), so one FTS5 query matches all the
-- words of a search at once and its rowid alone names the ticket: matching reads no column.
-- Keys are handed out in insertion order, which is newest first in practice, so a search
-- walks the matches by descending rowid and stops after a page (tickets.rs, `search_sqlite`).

DROP TRIGGER tickets_fts_insert;
DROP TRIGGER tickets_fts_update;
DROP TRIGGER tickets_fts_delete;
DROP TRIGGER ticket_messages_fts_insert;
DROP TRIGGER ticket_messages_fts_update;
DROP TRIGGER ticket_messages_fts_delete;
DROP TABLE ticket_fts;
DROP TABLE ticket_fts_keys;

-- One stable key per ticket (an INTEGER PRIMARY KEY survives VACUUM), the FTS5 rowid of its
-- document. `newest_id`: the greatest ticket id among this workspace's keys up to this one
-- when it was handed out; it never decreases with the key, and every ticket with a smaller
-- key has an id no greater. That bound lets a search stop early and still return exactly
-- the newest matches when keys and ids disagree (a clock set back).
CREATE TABLE ticket_fts_keys (
    fts_rowid INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    newest_id TEXT NOT NULL
);
CREATE UNIQUE INDEX ticket_fts_keys_ticket ON ticket_fts_keys (workspace_id, ticket_id);
CREATE INDEX ticket_fts_keys_newest ON ticket_fts_keys (workspace_id, newest_id);

-- Contentless: the text lives in `tickets` and `ticket_messages`; a document is replaced by
-- deleting its rowid (contentless_delete) and inserting it again.
CREATE VIRTUAL TABLE ticket_fts USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- A ticket's document. Parts are joined by U+E000, a token to `unicode61` (private use) that
-- no search word can hold (a word is letters and digits), so a phrase never spans two parts,
-- as when they were separate documents.
CREATE VIEW ticket_fts_docs AS
    SELECT k.fts_rowid, k.workspace_id, k.ticket_id,
           t.subject || coalesce((SELECT group_concat(char(10, 57344, 10) || m.body, '')
                                  FROM ticket_messages m
                                  WHERE m.workspace_id = t.workspace_id AND m.ticket_id = t.id), '')
               AS text
    FROM ticket_fts_keys k
    JOIN tickets t ON t.workspace_id = k.workspace_id AND t.id = k.ticket_id;

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_fts_keys (workspace_id, ticket_id, newest_id)
        SELECT new.workspace_id, new.id, max(new.id, coalesce(max(newest_id), ''))
        FROM ticket_fts_keys WHERE workspace_id = new.workspace_id;
    INSERT INTO ticket_fts (rowid, text)
        SELECT fts_rowid, text FROM ticket_fts_docs
        WHERE workspace_id = new.workspace_id AND ticket_id = new.id;
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject ON tickets
WHEN old.subject IS NOT new.subject BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = new.workspace_id AND ticket_id = new.id);
    INSERT INTO ticket_fts (rowid, text)
        SELECT fts_rowid, text FROM ticket_fts_docs
        WHERE workspace_id = new.workspace_id AND ticket_id = new.id;
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = old.workspace_id AND ticket_id = old.id);
    DELETE FROM ticket_fts_keys WHERE workspace_id = old.workspace_id AND ticket_id = old.id;
END;

-- A message added, edited or removed rewrites its ticket's document (once its ticket is
-- gone, there is nothing left to rewrite).
CREATE TRIGGER ticket_messages_fts_insert AFTER INSERT ON ticket_messages BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = new.workspace_id AND ticket_id = new.ticket_id);
    INSERT INTO ticket_fts (rowid, text)
        SELECT fts_rowid, text FROM ticket_fts_docs
        WHERE workspace_id = new.workspace_id AND ticket_id = new.ticket_id;
END;
CREATE TRIGGER ticket_messages_fts_update AFTER UPDATE OF body ON ticket_messages
WHEN old.body IS NOT new.body BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = new.workspace_id AND ticket_id = new.ticket_id);
    INSERT INTO ticket_fts (rowid, text)
        SELECT fts_rowid, text FROM ticket_fts_docs
        WHERE workspace_id = new.workspace_id AND ticket_id = new.ticket_id;
END;
CREATE TRIGGER ticket_messages_fts_delete AFTER DELETE ON ticket_messages BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = old.workspace_id AND ticket_id = old.ticket_id);
    INSERT INTO ticket_fts (rowid, text)
        SELECT fts_rowid, text FROM ticket_fts_docs
        WHERE workspace_id = old.workspace_id AND ticket_id = old.ticket_id;
END;

-- Index what is stored: keys in id order, so each key's bound is its own id.
INSERT INTO ticket_fts_keys (workspace_id, ticket_id, newest_id)
    SELECT workspace_id, id, id FROM tickets ORDER BY id;
INSERT INTO ticket_fts (rowid, text) SELECT fts_rowid, text FROM ticket_fts_docs;
