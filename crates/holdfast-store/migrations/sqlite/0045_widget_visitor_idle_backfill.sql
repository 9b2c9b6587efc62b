-- The PostgreSQL twin repeats 0042's backfill, which row-level security kept from changing any
-- row there. SQLite has no row-level security, so 0042 already did it; this finds nothing left.
-- Kept in lock-step with ../postgres/0045_widget_visitor_idle_backfill.sql.
UPDATE widget_visitors SET last_used_at = created_at WHERE last_used_at = 0;
