-- "Download my data" from the preference center: a single-use link mailed to the contact's own
-- address, valid for one hour from sending. A directory table like consent_confirmations: read
-- by the token's SHA-256 before a tenant is known (store::consent::unscoped_data_link_target),
-- never the token itself.
CREATE TABLE data_download_links (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX data_download_links_contact ON data_download_links (workspace_id, contact_id);
