-- Consent per contact and channel, Do Not Contact, "do not sell or share", the workspace's
-- privacy mode, the append-only consent log, the outbound choke point's decisions, and the
-- public links (preference center, double opt-in confirmation). docs/design/consent.md.
-- Kept in lock-step with ../postgres/0027_consent.sql.
ALTER TABLE contacts ADD COLUMN do_not_contact BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN do_not_sell BIGINT NOT NULL DEFAULT 0;
-- Preference-center links are HMACs over (workspace, contact, generation): revoking bumps it.
ALTER TABLE contacts ADD COLUMN link_generation BIGINT NOT NULL DEFAULT 0;

CREATE TABLE privacy_settings (
    workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    double_opt_in TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per contact and channel that was ever set; a missing row is `unknown`.
CREATE TABLE contact_consent (
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    lawful_basis TEXT,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id, channel),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);

-- Every change, never rewritten (a trigger refuses updates); it goes with its contact.
CREATE TABLE consent_log (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    field TEXT NOT NULL,
    channel TEXT,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    lawful_basis TEXT,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    note TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX consent_log_contact ON consent_log (workspace_id, contact_id, id);

-- Every decision of the outbound choke point, allowed or blocked, at queueing and at sending.
CREATE TABLE outreach_log (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    stage TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    ticket_message_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX outreach_log_contact ON outreach_log (workspace_id, contact_id, id);

-- Directory tables, read by a public link's token digest before a tenant is known
-- (store::consent::unscoped_preference_target / unscoped_confirmation_target).
CREATE TABLE preference_links (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    generation BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX preference_links_contact ON preference_links (workspace_id, contact_id);

CREATE TABLE consent_confirmations (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX consent_confirmations_contact ON consent_confirmations (workspace_id, contact_id);

CREATE TRIGGER consent_log_append_only BEFORE UPDATE ON consent_log BEGIN
    SELECT RAISE(ABORT, 'the consent log is append-only');
END;
