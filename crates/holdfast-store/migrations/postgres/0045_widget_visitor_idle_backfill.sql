-- 0042 meant every existing widget visitor token to start its idle period at its creation, but
-- on PostgreSQL its backfill ran outside any workspace under the table's forced row-level
-- security and changed no row: every existing token kept last_used_at = 0 and expired at once.
-- This backfill runs again with the policy lifted, for this one statement, inside the
-- migration's transaction (as 0025, 0041 and 0044 do). Tokens revoked since carry another
-- value and are not touched. Kept in lock-step with ../sqlite/0045_widget_visitor_idle_backfill.sql.
ALTER TABLE widget_visitors NO FORCE ROW LEVEL SECURITY;
UPDATE widget_visitors SET last_used_at = created_at WHERE last_used_at = 0;
ALTER TABLE widget_visitors FORCE ROW LEVEL SECURITY;
