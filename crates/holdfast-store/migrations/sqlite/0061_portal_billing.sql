-- A company's billing contacts in the client portal: staff mark a contact of a company, and
-- while the contact still belongs to that company, their portal also shows the company's jobs
-- and invoices. Kept in lock-step with ../postgres/0061_portal_billing.sql.
CREATE TABLE portal_billing_contacts (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    company_id TEXT NOT NULL,
    marked_by TEXT NOT NULL,
    marked_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id, company_id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, company_id) REFERENCES companies (workspace_id, id) ON DELETE CASCADE
);
-- A billing contact's portal reads the company's jobs and invoices by company.
CREATE INDEX jobs_company_idx ON jobs (workspace_id, company_id, id);
CREATE INDEX invoices_company_idx ON invoices (workspace_id, company_id, id);
