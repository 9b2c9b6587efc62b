-- Ticket search through an index that works under row-level security. Kept in lock-step with
-- ../sqlite/0062_search_words.sql, which has nothing to do: SQLite keeps its FTS5 table
-- (docs/design/helpdesk.md, "Search").
--
-- Under the tables' FORCEd policies PostgreSQL checks the policy before any condition that is
-- not leakproof, and `@@` is not: the GIN index on `tickets.search_vector` was never used, so
-- a rare or absent word read every ticket of the workspace. And each new message rebuilt its
-- ticket's whole vector. Now each ticket's words are rows of `ticket_fts_words`, keyed
-- `(workspace_id, word, ticket_id)` in a B-tree: a word is found by text equality and a prefix
-- by a range, both leakproof, so the index serves them under the policy. A new message adds
-- only its own words.
--
-- A word is a lexeme of the text's `simple` tsvector (`holdfast_search_text` first), the very
-- words the `@@` search matched; the search folds its terms the same way
-- (store::tickets::search).

-- The words of a subject, a message or a search term, as the search matches them.
CREATE FUNCTION holdfast_search_words(input text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT unnest(tsvector_to_array(to_tsvector('simple'::regconfig, holdfast_search_text(input))))
$$;

-- The whole-ticket vector and everything that kept it.
DROP TRIGGER ticket_messages_search_vector ON ticket_messages;
DROP FUNCTION ticket_messages_search_vector();
DROP TRIGGER tickets_search_vector_insert ON tickets;
DROP TRIGGER tickets_search_vector_update ON tickets;
DROP FUNCTION tickets_search_vector();
DROP INDEX tickets_search_overflow;
DROP INDEX tickets_search;
ALTER TABLE tickets DROP COLUMN search_vector;
DROP FUNCTION holdfast_ticket_search_vector(text, text, text);
DROP AGGREGATE holdfast_tsvector_agg(tsvector);
-- A message's vector (generated) stays: it is where its words are read from. Nothing
-- searches it through an index any more.
DROP INDEX ticket_messages_search;

-- `word` compares byte by byte (C), so every word with a prefix lies in one key range,
-- whatever the database's collation. No foreign keys: the rows are an index kept by the
-- triggers below, and a key check per word would cost more than the word.
CREATE TABLE ticket_fts_words (
    workspace_id TEXT NOT NULL,
    word TEXT COLLATE "C" NOT NULL,
    ticket_id TEXT NOT NULL
);

-- Index what is stored. The migration runs outside any workspace, so the owner lifts the
-- policies of what it reads for these statements, inside the migration's transaction.
ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ticket_messages NO FORCE ROW LEVEL SECURITY;
INSERT INTO ticket_fts_words (workspace_id, word, ticket_id)
    SELECT t.workspace_id, w.word, t.id FROM tickets t, holdfast_search_words(t.subject) AS w (word)
    UNION
    SELECT m.workspace_id, unnest(tsvector_to_array(m.search_vector)), m.ticket_id FROM ticket_messages m;
ALTER TABLE ticket_messages FORCE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;

ALTER TABLE ticket_fts_words ADD PRIMARY KEY (workspace_id, word, ticket_id);
-- A ticket's words: checking one ticket for a prefix, and removing a ticket's words.
CREATE INDEX ticket_fts_words_ticket ON ticket_fts_words (workspace_id, ticket_id, word);

ALTER TABLE ticket_fts_words ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_fts_words FORCE ROW LEVEL SECURITY;
CREATE POLICY ticket_fts_words_tenant ON ticket_fts_words
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

-- A ticket's words from scratch: its subject's and every message's. For the rare changes that
-- can take words away (a new subject, a message edited or removed); a ticket that is gone
-- gets none.
CREATE FUNCTION holdfast_ticket_words_rebuild(ws text, ticket text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM ticket_fts_words WHERE workspace_id = ws AND ticket_id = ticket;
    INSERT INTO ticket_fts_words (workspace_id, word, ticket_id)
        SELECT t.workspace_id, w.word, t.id FROM tickets t, holdfast_search_words(t.subject) AS w (word)
        WHERE t.workspace_id = ws AND t.id = ticket
        UNION
        SELECT m.workspace_id, unnest(tsvector_to_array(m.search_vector)), m.ticket_id
        FROM ticket_messages m JOIN tickets t ON t.workspace_id = m.workspace_id AND t.id = m.ticket_id
        WHERE m.workspace_id = ws AND m.ticket_id = ticket;
END
$$;

-- New tickets and new messages add their own words, once per statement (an import or a
-- seed adds many rows in one); a word the ticket already has is kept as it is.
CREATE FUNCTION tickets_words_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_fts_words (workspace_id, word, ticket_id)
        SELECT DISTINCT a.workspace_id, w.word, a.id FROM added a, holdfast_search_words(a.subject) AS w (word)
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_words_insert AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION tickets_words_insert();

CREATE FUNCTION ticket_messages_words_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_fts_words (workspace_id, word, ticket_id)
        SELECT DISTINCT a.workspace_id, unnest(tsvector_to_array(a.search_vector)), a.ticket_id FROM added a
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_messages_words_insert AFTER INSERT ON ticket_messages
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ticket_messages_words_insert();

-- A ticket removed takes its words with it (erasure and retention remove tickets in the
-- same statement that removes the words).
CREATE FUNCTION tickets_words_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ticket_fts_words w USING gone g
        WHERE w.workspace_id = g.workspace_id AND w.ticket_id = g.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_words_delete AFTER DELETE ON tickets
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION tickets_words_delete();

-- A message removed: its ticket keeps only the words still in it (a ticket removed with its
-- messages has none left to keep).
CREATE FUNCTION ticket_messages_words_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched record;
BEGIN
    FOR touched IN SELECT DISTINCT workspace_id, ticket_id FROM gone LOOP
        PERFORM holdfast_ticket_words_rebuild(touched.workspace_id, touched.ticket_id);
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_messages_words_delete AFTER DELETE ON ticket_messages
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ticket_messages_words_delete();

-- A new subject, or a message edited or moved: the tickets concerned are indexed anew.
CREATE FUNCTION tickets_words_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM holdfast_ticket_words_rebuild(NEW.workspace_id, NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_words_update AFTER UPDATE OF subject ON tickets
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject)
    EXECUTE FUNCTION tickets_words_update();

CREATE FUNCTION ticket_messages_words_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM holdfast_ticket_words_rebuild(OLD.workspace_id, OLD.ticket_id);
    IF NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.workspace_id IS DISTINCT FROM OLD.workspace_id THEN
        PERFORM holdfast_ticket_words_rebuild(NEW.workspace_id, NEW.ticket_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_messages_words_update AFTER UPDATE OF body, ticket_id ON ticket_messages
    FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
    EXECUTE FUNCTION ticket_messages_words_update();
