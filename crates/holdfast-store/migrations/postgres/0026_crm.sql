-- CRM: companies, contact custom fields (definitions, values and their search index) and CSV
-- imports. Kept in lock-step with ../sqlite/0026_crm.sql; here also row-level security and
-- the foreign key from a contact to its company (SQLite cannot add one to an existing table;
-- the store checks the link there, and unlinks a company's contacts before deleting it).

-- A company contacts belong to. `domain` is normalised (lower case, no scheme or path) by the
-- core before it is stored, so the unique index compares like with like.
CREATE TABLE companies (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    domain TEXT,
    notes TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX companies_domain_key ON companies (workspace_id, domain);
CREATE INDEX companies_name_idx ON companies (workspace_id, lower(name));

-- The link from a contact to its company (the free-text `company` stays, see ARCHITECTURE.md),
-- and the contact's custom values as a JSON object (typed as their definitions say).
ALTER TABLE contacts ADD COLUMN company_id TEXT;
ALTER TABLE contacts ADD CONSTRAINT contacts_company_fk FOREIGN KEY (workspace_id, company_id)
    REFERENCES companies (workspace_id, id);
ALTER TABLE contacts ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
CREATE INDEX contacts_company_idx ON contacts (workspace_id, company_id);
-- Import de-duplication looks contacts up by phone.
CREATE INDEX contacts_phone_idx ON contacts (workspace_id, phone);

-- Custom field definitions of a workspace's contacts. `key` is `[a-z][a-z0-9_]{0,39}`;
-- `field_type` is text, number, date or select; `options` a JSON array (select only).
CREATE TABLE contact_fields (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    field_key TEXT NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    required BIGINT NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, field_key)
);

-- One row per contact and custom value, in its canonical text form: the index behind
-- `?custom.key=value` filters and text search. Written by the contact store functions only,
-- next to the contact's `custom` JSON.
CREATE TABLE contact_values (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    field_key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id, field_key),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_values_lookup ON contact_values (workspace_id, field_key, value);

-- A CSV import: the file itself (kept with the record, so the job can run on any instance and
-- resume after a crash), its options, and its progress and report.
CREATE TABLE contact_imports (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    options TEXT NOT NULL,
    csv TEXT NOT NULL,
    rows_total BIGINT NOT NULL,
    rows_processed BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    failure TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);

ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE companies FORCE ROW LEVEL SECURITY;
CREATE POLICY companies_tenant ON companies
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

ALTER TABLE contact_fields ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_fields FORCE ROW LEVEL SECURITY;
CREATE POLICY contact_fields_tenant ON contact_fields
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

ALTER TABLE contact_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_values FORCE ROW LEVEL SECURITY;
CREATE POLICY contact_values_tenant ON contact_values
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));

ALTER TABLE contact_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY contact_imports_tenant ON contact_imports
    USING (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''))
    WITH CHECK (workspace_id = NULLIF(current_setting('app.workspace_id', true), ''));
