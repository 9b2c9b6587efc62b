-- Invoicing: the workspace's settings and number sequences, invoices and credit notes, and the
-- money recorded against them. Kept in lock-step with ../sqlite/0053_invoices.sql; here also
-- row-level security.
--
-- Money is kept in the currency's minor units (BIGINT); a document's lines are a JSON array of
-- exact decimal texts, its figures computed from them by one rounding rule.

CREATE TABLE invoice_settings (
    workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    invoice_prefix TEXT NOT NULL DEFAULT 'INV-',
    credit_note_prefix TEXT NOT NULL DEFAULT 'CN-',
    -- The next number of each sequence: taken and advanced in one UPDATE when a document is
    -- issued, so two issues never share a number and a number is never reused.
    next_invoice_number BIGINT NOT NULL DEFAULT 1,
    next_credit_note_number BIGINT NOT NULL DEFAULT 1,
    payment_terms_days BIGINT NOT NULL DEFAULT 14,
    currency TEXT NOT NULL DEFAULT 'EUR',
    business_name TEXT,
    business_details TEXT,
    payment_instructions TEXT,
    footer TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE invoices (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    number TEXT,
    status TEXT NOT NULL,
    contact_id TEXT,
    company_id TEXT,
    job_id TEXT,
    credits_invoice_id TEXT,
    currency TEXT NOT NULL,
    issue_date TEXT,
    due_date TEXT,
    payment_terms_days BIGINT,
    lines TEXT NOT NULL,
    net_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    credited_minor BIGINT NOT NULL DEFAULT 0,
    paid_minor BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    -- Who was billed, as printed when issued (a JSON object): an issued document keeps it.
    bill_to TEXT,
    notes TEXT,
    payment_instructions TEXT,
    reason TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    issued_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
-- A number names one document of its kind in a workspace (drafts have none).
CREATE UNIQUE INDEX invoices_number_key ON invoices (workspace_id, kind, number);
CREATE INDEX invoices_list_idx ON invoices (workspace_id, id);
CREATE INDEX invoices_contact_idx ON invoices (workspace_id, contact_id, id);
CREATE INDEX invoices_job_idx ON invoices (workspace_id, job_id);
CREATE INDEX invoices_credits_idx ON invoices (workspace_id, credits_invoice_id);

-- Money received (payment) or given back (refund), by hand or by a payment provider's
-- verified webhook (provider and its event id: applied once).
CREATE TABLE invoice_payments (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    reference TEXT,
    provider TEXT,
    provider_event_id TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, invoice_id) REFERENCES invoices (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX invoice_payments_invoice_idx ON invoice_payments (workspace_id, invoice_id, id);
CREATE UNIQUE INDEX invoice_payments_event_key
    ON invoice_payments (workspace_id, provider, provider_event_id);

ALTER TABLE invoice_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY invoice_settings_tenant ON invoice_settings
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY invoices_tenant ON invoices
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
ALTER TABLE invoice_payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_payments FORCE ROW LEVEL SECURITY;
CREATE POLICY invoice_payments_tenant ON invoice_payments
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
