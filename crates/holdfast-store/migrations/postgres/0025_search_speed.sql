-- Ticket search at size. Kept in lock-step with ../sqlite/0025_search_speed.sql, except the
-- search index, which is dialect-specific by design (docs/design/helpdesk.md): tsvector here,
-- FTS5 there.
--
-- 0023 matched each word against the subject's tsvector OR any message's, a subquery per word
-- and per ticket. Now `tickets.search_vector` holds the whole ticket (its subject and every
-- message body, notes included), kept by triggers, so all the words of a search are one `@@`
-- on one column, checked newest ticket first (store::tickets::search).
-- `ticket_messages.search_vector` stays (generated) and is what the ticket's vector is built
-- from.

-- The concatenation of tsvectors (positions shifted, as `||` does).
CREATE AGGREGATE holdfast_tsvector_agg(tsvector) (
    SFUNC = tsvector_concat,
    STYPE = tsvector,
    INITCOND = ''
);

-- A ticket's words: its subject and every message. NULL when they do not fit in one tsvector
-- (1 MB): such a ticket is searched word by word, subject and messages, as before.
CREATE FUNCTION holdfast_ticket_search_vector(ws text, ticket text, subject text) RETURNS tsvector
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig, holdfast_search_text(subject))
        || coalesce((SELECT holdfast_tsvector_agg(m.search_vector ORDER BY m.id)
                     FROM ticket_messages m
                     WHERE m.workspace_id = ws AND m.ticket_id = ticket), ''::tsvector);
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN NULL;
END
$$;

DROP INDEX tickets_search;
ALTER TABLE tickets DROP COLUMN search_vector;
ALTER TABLE tickets ADD COLUMN search_vector tsvector;

CREATE FUNCTION tickets_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := holdfast_ticket_search_vector(NEW.workspace_id, NEW.id, NEW.subject);
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_search_vector_insert BEFORE INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_search_vector();
CREATE TRIGGER tickets_search_vector_update BEFORE UPDATE OF subject ON tickets
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject)
    EXECUTE FUNCTION tickets_search_vector();

-- A message added, edited or removed rebuilds its ticket's vector (once its ticket is gone,
-- there is nothing left to rebuild).
CREATE FUNCTION ticket_messages_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ws text;
    ticket text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        ws := OLD.workspace_id;
        ticket := OLD.ticket_id;
    ELSE
        ws := NEW.workspace_id;
        ticket := NEW.ticket_id;
    END IF;
    UPDATE tickets t SET search_vector = holdfast_ticket_search_vector(t.workspace_id, t.id, t.subject)
        WHERE t.workspace_id = ws AND t.id = ticket;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_messages_search_vector AFTER INSERT OR DELETE OR UPDATE OF body
    ON ticket_messages FOR EACH ROW EXECUTE FUNCTION ticket_messages_search_vector();

-- Index what is stored. The migration runs outside any workspace, so the owner lifts the
-- tickets policy for this one statement, inside the migration's transaction (as 0023 did).
ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ticket_messages NO FORCE ROW LEVEL SECURITY;
UPDATE tickets t SET search_vector = holdfast_ticket_search_vector(t.workspace_id, t.id, t.subject);
ALTER TABLE ticket_messages FORCE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;

CREATE INDEX tickets_search ON tickets USING gin (search_vector);
-- The few tickets too large for one vector (matched word by word).
CREATE INDEX tickets_search_overflow ON tickets (workspace_id, id) WHERE search_vector IS NULL;
