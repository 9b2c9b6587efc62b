//! Portal authentication: a sign-in link spent into a session ([`sign_in`]), and a session
//! cookie turned into a [`PortalActor`] ([`authenticate_portal_cookie`]). This is the one place
//! that makes a [`PortalScope`] (and, with `tenant.rs`'s other callers, a [`Tenant`] for the
//! portal): a repository function that takes a `&PortalScope` can only be reached by a
//! customer the portal signed in, for their own contact. The unit test below fails on a scope
//! made anywhere else.

use crate::db::Db;
use crate::error::StoreError;
use crate::ops::audit::{self, NewEvent};
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::access::modules::ModuleSet;
use holdfast_core::ids::{ContactId, PortalSessionId, WorkspaceId};
use holdfast_core::portal::{SESSION_ABSOLUTE_MS, SESSION_COOKIE_PREFIX, SESSION_IDLE_MS};
use holdfast_core::secret::Secret;
use holdfast_core::token::generate_opaque;
use serde_json::json;

/// The records a signed-in customer may reach: their own contact's. Made only here, by a
/// verified portal session, so it cannot name another contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalScope {
    contact: ContactId,
}

impl PortalScope {
    fn new(contact: ContactId) -> PortalScope {
        PortalScope { contact }
    }

    /// The signed-in customer's contact.
    pub fn contact(&self) -> &ContactId {
        &self.contact
    }
}

/// A signed-in customer: their workspace, their scope, the session, and what the portal shows
/// of the workspace.
#[derive(Debug, Clone)]
pub struct PortalActor {
    pub tenant: Tenant,
    pub scope: PortalScope,
    pub session_id: PortalSessionId,
    pub workspace_slug: String,
    pub workspace_name: String,
    pub modules: ModuleSet,
    /// The contact's name, for the greeting.
    pub name: Option<String>,
}

/// A session's `last_seen_at` is written at most this often.
const SEEN_GRANULARITY_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct LiveRow {
    contact_id: String,
    name: Option<String>,
    last_seen_at: i64,
    slug: String,
    workspace_name: String,
    modules: String,
}

/// The customer of a live portal session, by its cookie's digest: not ended, not past its
/// absolute or idle life, the contact still there and still allowed in. Marks the session
/// seen (at most once a minute). A suspended workspace is `StoreError::Suspended`.
pub async fn authenticate_portal_cookie(
    db: &Db,
    cookie_hash: &str,
    now_ms: i64,
) -> Result<Option<PortalActor>, StoreError> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT workspace_id, session_id FROM portal_session_cookies WHERE token_hash = $1",
    )
    .bind(cookie_hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some((ws, session_id)) = found else {
        return Ok(None);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
    let session_id = PortalSessionId::from_trusted(session_id);
    let mut tx = db.read(&tenant).await?;
    let row: Option<LiveRow> = sqlx::query_as(
        "SELECT s.contact_id, c.name, s.last_seen_at, w.slug, w.name AS workspace_name, w.modules \
         FROM portal_sessions s JOIN workspaces w ON w.id = s.workspace_id \
         JOIN contacts c ON c.workspace_id = s.workspace_id AND c.id = s.contact_id \
         WHERE s.workspace_id = $1 AND s.id = $2 AND s.revoked_at IS NULL \
         AND s.expires_at > $3 AND s.last_seen_at + $4 > $3",
    )
    .bind(tenant.workspace_id().as_str())
    .bind(session_id.as_str())
    .bind(now_ms)
    .bind(SESSION_IDLE_MS)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let contact = ContactId::from_trusted(row.contact_id);
    // Access taken away (or the address removed) ends the session at its next request.
    let allowed = super::access::allowed(&mut tx, &contact).await?;
    tx.commit().await?;
    if !allowed {
        return Ok(None);
    }
    if now_ms - row.last_seen_at >= SEEN_GRANULARITY_MS {
        let mut tx = db.write(&tenant).await?;
        sqlx::query(
            "UPDATE portal_sessions SET last_seen_at = $1 WHERE workspace_id = $2 AND id = $3",
        )
        .bind(now_ms)
        .bind(tenant.workspace_id().as_str())
        .bind(session_id.as_str())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
    }
    Ok(Some(PortalActor {
        tenant,
        scope: PortalScope::new(contact),
        session_id,
        workspace_slug: row.slug,
        workspace_name: row.workspace_name,
        modules: ModuleSet::from_json(&row.modules),
        name: row.name,
    }))
}

/// Where a sign-in was made from, for the session list and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct SignInFrom {
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

/// A customer just signed in: the session, and its cookie's value (shown this once).
pub struct SignedIn {
    pub workspace_slug: String,
    pub session_id: PortalSessionId,
    pub cookie: Secret<String>,
}

/// Spends a sign-in link (unspent, unexpired, its contact still allowed in) and starts a
/// session for its contact, in one transaction, audited as `portal.signed_in`. `None` when
/// the link cannot be used, and nothing is spent then.
pub async fn sign_in(
    db: &Db,
    link_hash: &str,
    from: &SignInFrom,
    now_ms: i64,
) -> Result<Option<SignedIn>, StoreError> {
    let Some((tenant, contact)) = super::links::unscoped_link_target(db, link_hash, now_ms).await?
    else {
        return Ok(None);
    };
    let mut tx = db.write(&tenant).await?;
    let spent = sqlx::query(
        "UPDATE portal_links SET used_at = $3 WHERE token_hash = $1 AND workspace_id = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(link_hash)
    .bind(tenant.workspace_id().as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if spent != 1 || !super::access::allowed(&mut tx, &contact).await? {
        // Dropped, so rolled back: nothing is spent.
        drop(tx);
        return Ok(None);
    }
    let session_id = PortalSessionId::generate(now_ms);
    start_session(&mut tx, &contact, &session_id, from, now_ms).await?;
    let (cookie, cookie_hash) = generate_opaque(SESSION_COOKIE_PREFIX);
    sqlx::query(
        "INSERT INTO portal_session_cookies (token_hash, workspace_id, session_id, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&cookie_hash)
    .bind(tenant.workspace_id().as_str())
    .bind(session_id.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    let event = NewEvent {
        actor_type: "contact",
        actor_id: contact.to_string(),
        action: "portal.signed_in",
        entity_type: "portal_session",
        entity_id: session_id.to_string(),
        summary: json!({"contact_id": contact.as_str()}),
        ip: from.ip.clone(),
        user_agent: from.user_agent.clone(),
        request_id: from.request_id.clone(),
    };
    audit::append(&mut tx, &event, now_ms).await?;
    let site = super::access::site(&mut tx).await?;
    tx.commit().await?;
    Ok(Some(SignedIn {
        workspace_slug: site.slug,
        session_id,
        cookie,
    }))
}

async fn start_session(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    session_id: &PortalSessionId,
    from: &SignInFrom,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO portal_sessions (workspace_id, id, contact_id, user_agent, ip, created_at, \
         last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
    )
    .bind(ws)
    .bind(session_id.as_str())
    .bind(contact.as_str())
    .bind(clip(&from.user_agent, 300))
    .bind(clip(&from.ip, 64))
    .bind(now_ms)
    .bind(now_ms + SESSION_ABSOLUTE_MS)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// At most `max` characters of `text`, or `None` for an empty text.
fn clip(text: &str, max: usize) -> Option<String> {
    let text: String = text.chars().take(max).collect();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    /// `PortalScope::new` is private to this file; this keeps it so: no other source of the
    /// store builds a scope from its fields.
    #[test]
    fn portal_scopes_are_made_only_here() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&dir, &mut files);
        assert!(files.len() > 30, "the walk found the sources");
        let here = dir.join("portal").join("auth.rs");
        let stray: Vec<_> = files
            .iter()
            .filter(|p| **p != here)
            .filter(|p| {
                let text = std::fs::read_to_string(p).unwrap();
                text.contains("PortalScope::new") || text.contains("PortalScope {")
            })
            .collect();
        assert!(
            stray.is_empty(),
            "a PortalScope made outside portal/auth.rs: {stray:?}"
        );
    }
}
