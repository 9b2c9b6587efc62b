-- Public links for the customer: a job's page (`/p/jobs/hfpj_…`), later an invoice's. A link
-- is stored only as its token's SHA-256; one live link per subject (issuing again revokes the
-- old one, which then opens nothing). Kept in lock-step with ../postgres/0054_public_links.sql.

CREATE TABLE public_links (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX public_links_token_key ON public_links (token_hash);
CREATE UNIQUE INDEX public_links_live_key ON public_links (workspace_id, kind, subject_id)
    WHERE revoked_at IS NULL;

-- The one read before a workspace is known: a live link's digest → its workspace, nothing
-- else (the link itself is read in the workspace's own transaction). Revoking deletes the row.
CREATE TABLE public_link_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE
);

-- The name a member goes by, for what customers see (a public page shows its first word only).
ALTER TABLE memberships ADD COLUMN display_name TEXT;
