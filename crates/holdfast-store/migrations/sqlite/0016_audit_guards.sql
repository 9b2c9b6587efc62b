-- More append-only guards for the audit trail. Kept in lock-step with
-- ../postgres/0016_audit_guards.sql (SQLite has no TRUNCATE: its DELETE trigger covers it).

-- A chain's head only moves forward.
CREATE TRIGGER audit_heads_forward BEFORE UPDATE ON audit_heads
WHEN NEW.seq < OLD.seq
BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'audit heads are never removed'); END;
