-- Help-desk tools: full-text search over tickets, saved replies, and each ticket's activity
-- timeline. Kept in lock-step with ../postgres/0023_desk.sql, except the search index, which
-- is dialect-specific by design (docs/design/helpdesk.md): FTS5 here, tsvector there.

-- One FTS5 document per ticket subject and per message body (notes included). `unicode61`
-- folds case and, with `remove_diacritics 2`, accents; words are runs of letters and digits.
CREATE VIRTUAL TABLE ticket_fts USING fts5(
    text,
    workspace_id UNINDEXED,
    ticket_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Stable FTS rowids per document: the implicit rowids of `tickets` and `ticket_messages` may
-- change on VACUUM, so the index keeps its own INTEGER PRIMARY KEY per (workspace, document).
CREATE TABLE ticket_fts_keys (
    fts_rowid INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    doc_id TEXT NOT NULL
);
CREATE UNIQUE INDEX ticket_fts_keys_doc ON ticket_fts_keys (workspace_id, doc_id);

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_fts_keys (workspace_id, doc_id) VALUES (new.workspace_id, new.id);
    INSERT INTO ticket_fts (rowid, text, workspace_id, ticket_id)
        SELECT fts_rowid, new.subject, new.workspace_id, new.id FROM ticket_fts_keys
        WHERE workspace_id = new.workspace_id AND doc_id = new.id;
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject ON tickets
WHEN old.subject IS NOT new.subject BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = old.workspace_id AND doc_id = old.id);
    INSERT INTO ticket_fts (rowid, text, workspace_id, ticket_id)
        SELECT fts_rowid, new.subject, new.workspace_id, new.id FROM ticket_fts_keys
        WHERE workspace_id = new.workspace_id AND doc_id = new.id;
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = old.workspace_id AND doc_id = old.id);
    DELETE FROM ticket_fts_keys WHERE workspace_id = old.workspace_id AND doc_id = old.id;
END;

CREATE TRIGGER ticket_messages_fts_insert AFTER INSERT ON ticket_messages BEGIN
    INSERT INTO ticket_fts_keys (workspace_id, doc_id) VALUES (new.workspace_id, new.id);
    INSERT INTO ticket_fts (rowid, text, workspace_id, ticket_id)
        SELECT fts_rowid, new.body, new.workspace_id, new.ticket_id FROM ticket_fts_keys
        WHERE workspace_id = new.workspace_id AND doc_id = new.id;
END;
CREATE TRIGGER ticket_messages_fts_update AFTER UPDATE OF body ON ticket_messages
WHEN old.body IS NOT new.body BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = old.workspace_id AND doc_id = old.id);
    INSERT INTO ticket_fts (rowid, text, workspace_id, ticket_id)
        SELECT fts_rowid, new.body, new.workspace_id, new.ticket_id FROM ticket_fts_keys
        WHERE workspace_id = new.workspace_id AND doc_id = new.id;
END;
CREATE TRIGGER ticket_messages_fts_delete AFTER DELETE ON ticket_messages BEGIN
    DELETE FROM ticket_fts WHERE rowid = (SELECT fts_rowid FROM ticket_fts_keys
        WHERE workspace_id = old.workspace_id AND doc_id = old.id);
    DELETE FROM ticket_fts_keys WHERE workspace_id = old.workspace_id AND doc_id = old.id;
END;

-- Backfill what was stored before this migration.
INSERT INTO ticket_fts_keys (workspace_id, doc_id) SELECT workspace_id, id FROM tickets;
INSERT INTO ticket_fts_keys (workspace_id, doc_id) SELECT workspace_id, id FROM ticket_messages;
INSERT INTO ticket_fts (rowid, text, workspace_id, ticket_id)
    SELECT k.fts_rowid, t.subject, t.workspace_id, t.id FROM tickets t
    JOIN ticket_fts_keys k ON k.workspace_id = t.workspace_id AND k.doc_id = t.id;
INSERT INTO ticket_fts (rowid, text, workspace_id, ticket_id)
    SELECT k.fts_rowid, m.body, m.workspace_id, m.ticket_id FROM ticket_messages m
    JOIN ticket_fts_keys k ON k.workspace_id = m.workspace_id AND k.doc_id = m.id;

-- Canned answers; `name` is unique per workspace regardless of case, `shortcut` when set.
CREATE TABLE saved_replies (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    shortcut TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX saved_replies_name_key ON saved_replies (workspace_id, lower(name));
CREATE UNIQUE INDEX saved_replies_shortcut_key ON saved_replies (workspace_id, shortcut);

-- Append-only: what happened to a ticket, who did it, when. `seq` orders a ticket's entries
-- (ids made in the same millisecond do not); it is taken under the ticket's row lock.
CREATE TABLE ticket_activity (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, ticket_id) REFERENCES tickets (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX ticket_activity_seq ON ticket_activity (workspace_id, ticket_id, seq);

-- Tickets from before this migration start their timeline with their creation.
INSERT INTO ticket_activity (workspace_id, id, ticket_id, seq, kind, actor_type, actor_id, data, created_at)
    SELECT workspace_id, 'ta_' || substr(id, 4), id, 1, 'created', 'system', NULL,
           '{"channel":"' || channel || '","backfilled":true}', created_at
    FROM tickets;
CREATE TRIGGER ticket_activity_append_only BEFORE UPDATE ON ticket_activity BEGIN
    SELECT RAISE(ABORT, 'ticket activity is append-only');
END;
