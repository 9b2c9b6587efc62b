-- Ticket search words: nothing to do here. PostgreSQL indexes each word of each ticket in
-- a table of its own (../postgres/0062_search_words.sql) because its policies keep `@@` from
-- using an index; SQLite keeps its FTS5 table (0025), which has no such limit. The file keeps
-- the two trees numbered in lock-step.
SELECT 1;
