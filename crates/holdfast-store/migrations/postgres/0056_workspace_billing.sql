-- The billing gate of a hosted instance (`billing_mode = stripe`): each workspace's plan state
-- as the operator's verified Stripe events set it, and the Stripe customer → workspace
-- directory the instance-level receiver finds a workspace by. A workspace without a row is
-- trialing. Kept in lock-step with ../sqlite/0056_workspace_billing.sql; here also row-level
-- security on the plan (the directory holds no tenant data and is read before a tenant exists).

CREATE TABLE workspace_billing (
    workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    stripe_customer TEXT,
    stripe_subscription TEXT,
    past_due_since BIGINT,
    updated_at BIGINT NOT NULL,
    last_event_at BIGINT NOT NULL
);

-- The one read before a workspace is known: a Stripe customer → its workspace, nothing else
-- (the plan itself is read and written in the workspace's own transaction).
CREATE TABLE billing_customers (
    stripe_customer TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE
);
CREATE INDEX billing_customers_workspace_idx ON billing_customers (workspace_id);

ALTER TABLE workspace_billing ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_billing FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_billing_tenant ON workspace_billing
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
