-- Help-desk tools: full-text search over tickets, saved replies, and each ticket's activity
-- timeline. Kept in lock-step with ../sqlite/0023_desk.sql, except the search index, which is
-- dialect-specific by design (docs/design/helpdesk.md): tsvector here, FTS5 there.

-- The text that is indexed and searched: lower-cased, common Latin accents folded (the
-- `simple` configuration keeps them, and `unaccent` would need a superuser), and ASCII
-- punctuation turned into spaces, so `ada@example.com` or `e-mail` index their words as the
-- query side splits them. `simple`: no stemming and no stop words, since customers write in
-- many languages.
CREATE FUNCTION holdfast_search_text(input text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT translate(lower(input),
        'àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżž!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~',
        'aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz                                ')
$$;

-- One query term as a tsquery: the term is folded like the documents and stripped of
-- anything that is not part of a word, so no input can be read as tsquery syntax; a term left
-- empty gives NULL, which matches nothing. A trailing `*` asks for a prefix match.
CREATE FUNCTION holdfast_search_query(term text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN word = '' THEN NULL::tsquery
        WHEN prefix THEN to_tsquery('simple'::regconfig, '''' || word || ''':*')
        ELSE to_tsquery('simple'::regconfig, '''' || word || '''')
    END
    FROM (SELECT replace(holdfast_search_text(
                     CASE WHEN right(term, 1) = '*' THEN left(term, -1) ELSE term END), ' ', '') AS word,
                 right(term, 1) = '*' AS prefix) AS parts
$$;

-- Generated columns index existing rows as they are added.
ALTER TABLE tickets ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, holdfast_search_text(subject))) STORED;
ALTER TABLE ticket_messages ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, holdfast_search_text(body))) STORED;
CREATE INDEX tickets_search ON tickets USING gin (search_vector);
CREATE INDEX ticket_messages_search ON ticket_messages USING gin (search_vector);

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

ALTER TABLE saved_replies ENABLE ROW LEVEL SECURITY;
ALTER TABLE saved_replies FORCE ROW LEVEL SECURITY;
CREATE POLICY saved_replies_tenant ON saved_replies
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

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

-- Tickets from before this migration start their timeline with their creation. The
-- migration runs outside any workspace, so the owner lifts the tickets policy for this one
-- statement, inside the migration's transaction (ticket_activity has no policy yet).
ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY;
INSERT INTO ticket_activity (workspace_id, id, ticket_id, seq, kind, actor_type, actor_id, data, created_at)
    SELECT workspace_id, 'ta_' || substr(id, 4), id, 1, 'created', 'system', NULL,
           '{"channel":"' || channel || '","backfilled":true}', created_at
    FROM tickets;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;

CREATE FUNCTION ticket_activity_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket activity is append-only';
END
$$;
CREATE TRIGGER ticket_activity_append_only BEFORE UPDATE ON ticket_activity
    FOR EACH ROW EXECUTE FUNCTION ticket_activity_append_only();

ALTER TABLE ticket_activity ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_activity FORCE ROW LEVEL SECURITY;
CREATE POLICY ticket_activity_tenant ON ticket_activity
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
