-- Online payments: each workspace's own payment accounts (keys sealed), the checkouts opened
-- for its invoices, and why a provider's event was not applied. Kept in lock-step with
-- ../sqlite/0055_payment_accounts.sql; here also row-level security.

CREATE TABLE payment_accounts (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    key_hint TEXT NOT NULL,
    location_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, provider)
);

-- A checkout opened with a provider for an invoice's open amount: its reference (Stripe's
-- session, Square's order) maps the provider's later event back to the invoice.
CREATE TABLE payment_checkouts (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, invoice_id) REFERENCES invoices (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX payment_checkouts_ref_key ON payment_checkouts (workspace_id, provider, provider_ref);
CREATE INDEX payment_checkouts_invoice_idx ON payment_checkouts (workspace_id, invoice_id);

-- The provider's payment a refund returns money of (Stripe's payment intent): a provider's
-- running refund total is turned into each refund's own amount from the refunds recorded.
ALTER TABLE invoice_payments ADD COLUMN provider_payment TEXT;

-- What handling a received event came to, when it was not simply handled: an unmatched
-- payment's reason.
ALTER TABLE inbound_events ADD COLUMN outcome TEXT;

ALTER TABLE payment_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY payment_accounts_tenant ON payment_accounts
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
ALTER TABLE payment_checkouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_checkouts FORCE ROW LEVEL SECURITY;
CREATE POLICY payment_checkouts_tenant ON payment_checkouts
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
