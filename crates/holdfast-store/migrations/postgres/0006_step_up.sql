-- When the session last re-confirmed its password (step-up for sensitive actions).
ALTER TABLE sessions ADD COLUMN stepped_up_at BIGINT;
