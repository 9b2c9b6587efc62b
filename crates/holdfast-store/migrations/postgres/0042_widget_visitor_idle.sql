-- Widget visitor tokens expire after an idle period (widget_visitor_idle_days, 30 by default):
-- each use moves last_used_at, and a token unused for longer no longer opens its conversation.
-- Existing tokens start their idle period at their creation.
-- Kept in lock-step with ../sqlite/0042_widget_visitor_idle.sql.
ALTER TABLE widget_visitors ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
UPDATE widget_visitors SET last_used_at = created_at;
