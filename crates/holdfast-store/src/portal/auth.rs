//! Portal authentication: a sign-in link spent into a session ([`sign_in`]), a verified portal
//! password into one ([`password_sign_in`]), and a session
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
use holdfast_core::brand::{Brand, Colour};
use holdfast_core::identity::jwt::{KeyRing, TokenType};
use holdfast_core::ids::{CompanyId, ContactId, PortalSessionId, WorkspaceId};
use holdfast_core::portal::{
    REFRESH_PREFIX, SESSION_ABSOLUTE_MS, SESSION_COOKIE_PREFIX, SESSION_IDLE_MS, SessionKind,
};
use holdfast_core::secret::Secret;
use holdfast_core::token::generate_opaque;
use serde_json::json;

/// The records a signed-in customer may reach: their own contact's. Made only here, by a
/// verified portal session, so it cannot name another contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalScope {
    contact: ContactId,
    billing_company: Option<CompanyId>,
}

impl PortalScope {
    fn new(contact: ContactId, billing_company: Option<CompanyId>) -> PortalScope {
        PortalScope {
            contact,
            billing_company,
        }
    }

    /// The signed-in customer's contact.
    pub fn contact(&self) -> &ContactId {
        &self.contact
    }

    /// The company whose jobs and invoices the customer also sees: staff marked them its
    /// billing contact, and they still belong to it. Their requests (tickets) stay their own.
    pub fn billing_company(&self) -> Option<&CompanyId> {
        self.billing_company.as_ref()
    }

    /// [`Self::billing_company`] as a statement's parameter (`NULL` when none, which matches
    /// no row in `company_id = $n`).
    pub fn billing_company_param(&self) -> Option<&str> {
        self.billing_company.as_ref().map(CompanyId::as_str)
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
    /// The portal's accent colour and logo digest (`holdfast_core::brand`).
    pub colour: Option<Colour>,
    pub logo: Option<String>,
}

impl PortalActor {
    /// How the customer's pages show their workspace.
    pub fn brand(&self) -> Brand {
        Brand {
            name: self.workspace_name.clone(),
            slug: self.workspace_slug.clone(),
            colour: self.colour,
            logo: self.logo.clone(),
        }
    }
}

/// A session's `last_seen_at` is written at most this often.
const SEEN_GRANULARITY_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct LiveRow {
    contact_id: String,
    billing_company: Option<String>,
    name: Option<String>,
    last_seen_at: i64,
    slug: String,
    workspace_name: String,
    modules: String,
    portal_colour: Option<String>,
    portal_logo_sha256: Option<String>,
}

/// The customer of a live browser session, by its cookie's digest: see [`live_actor`].
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
    live_actor(db, tenant, session_id, SessionKind::Browser, now_ms).await
}

/// The customer of a portal access token (`typ = portal`; a staff access token, or any other
/// kind, is refused): verified, then its API session checked live as a cookie's is, and the
/// token's contact still that session's. So ending a session or taking access away takes
/// effect on the next request, not at the token's expiry.
pub async fn authenticate_portal_token(
    db: &Db,
    ring: &KeyRing,
    token: &str,
    now_ms: i64,
) -> Result<Option<PortalActor>, StoreError> {
    let Some(claims) = ring.verify(token, TokenType::Portal, now_ms / 1000) else {
        return Ok(None);
    };
    let (Some(ws), Some(contact), Some(session_id)) = (
        WorkspaceId::parse(&claims.ws),
        ContactId::parse(&claims.sub),
        PortalSessionId::parse(&claims.sid),
    ) else {
        return Ok(None);
    };
    Ok(
        live_actor(db, Tenant::new(ws), session_id, SessionKind::Api, now_ms)
            .await?
            .filter(|actor| actor.scope.contact() == &contact),
    )
}

/// The customer of a live session of `kind`: not ended, not past its absolute or idle life,
/// the contact still there and still allowed in. Marks the session seen (at most once a
/// minute). A suspended workspace is `StoreError::Suspended`.
async fn live_actor(
    db: &Db,
    tenant: Tenant,
    session_id: PortalSessionId,
    kind: SessionKind,
    now_ms: i64,
) -> Result<Option<PortalActor>, StoreError> {
    let mut tx = db.read(&tenant).await?;
    let row: Option<LiveRow> = sqlx::query_as(
        "SELECT s.contact_id, b.company_id AS billing_company, c.name, s.last_seen_at, w.slug, \
         w.name AS workspace_name, w.modules, w.portal_colour, w.portal_logo_sha256 \
         FROM portal_sessions s JOIN workspaces w ON w.id = s.workspace_id \
         JOIN contacts c ON c.workspace_id = s.workspace_id AND c.id = s.contact_id \
         LEFT JOIN portal_billing_contacts b ON b.workspace_id = c.workspace_id \
         AND b.contact_id = c.id AND b.company_id = c.company_id \
         WHERE s.workspace_id = $1 AND s.id = $2 AND s.revoked_at IS NULL \
         AND s.expires_at > $3 AND s.last_seen_at + $4 > $3 AND s.kind = $5",
    )
    .bind(tenant.workspace_id().as_str())
    .bind(session_id.as_str())
    .bind(now_ms)
    .bind(SESSION_IDLE_MS)
    .bind(kind.as_str())
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
        scope: PortalScope::new(contact, row.billing_company.map(CompanyId::from_trusted)),
        session_id,
        workspace_slug: row.slug,
        workspace_name: row.workspace_name,
        modules: ModuleSet::from_json(&row.modules),
        name: row.name,
        colour: row.portal_colour.as_deref().and_then(Colour::parse),
        logo: row.portal_logo_sha256,
    }))
}

/// Where a sign-in was made from, for the session list and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct SignInFrom {
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

/// A customer just signed in (or refreshed their tokens): the session, and its credential —
/// the cookie's value of a browser session, the refresh token of an API session — shown this
/// once.
pub struct SignedIn {
    pub tenant: Tenant,
    pub contact: ContactId,
    pub workspace_slug: String,
    pub session_id: PortalSessionId,
    pub secret: Secret<String>,
}

/// Spends a sign-in link (unspent, unexpired, its contact still allowed in) and starts a
/// session of `kind` for its contact, in one transaction, audited as `portal.signed_in`.
/// `None` when the link cannot be used, and nothing is spent then.
pub async fn sign_in(
    db: &Db,
    link_hash: &str,
    kind: SessionKind,
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
    let signed_in = open_session(tx, &tenant, contact, kind, from, now_ms, "link").await?;
    Ok(Some(signed_in))
}

/// Starts a session of `kind` for a contact whose portal password was just verified (by the
/// caller, against the hash [`super::passwords::hash_of`] gave), when the contact is still
/// allowed in; audited as `portal.signed_in` (`by: password`). `None` when they are not.
pub async fn password_sign_in(
    db: &Db,
    tenant: Tenant,
    contact: ContactId,
    kind: SessionKind,
    from: &SignInFrom,
    now_ms: i64,
) -> Result<Option<SignedIn>, StoreError> {
    let mut tx = db.write(&tenant).await?;
    if !super::access::allowed(&mut tx, &contact).await? {
        return Ok(None);
    }
    let signed_in = open_session(tx, &tenant, contact, kind, from, now_ms, "password").await?;
    Ok(Some(signed_in))
}

/// Starts a session of `kind` for the contact and commits: its cookie or refresh token, and
/// `portal.signed_in` in the trail (`by`: `link` or `password`).
async fn open_session(
    mut tx: TenantTx<'_>,
    tenant: &Tenant,
    contact: ContactId,
    kind: SessionKind,
    from: &SignInFrom,
    now_ms: i64,
    by: &str,
) -> Result<SignedIn, StoreError> {
    let session_id = PortalSessionId::generate(now_ms);
    start_session(&mut tx, &contact, &session_id, kind, from, now_ms).await?;
    let secret = match kind {
        SessionKind::Browser => {
            let (cookie, cookie_hash) = generate_opaque(SESSION_COOKIE_PREFIX);
            sqlx::query(
                "INSERT INTO portal_session_cookies (token_hash, workspace_id, session_id, \
                 created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&cookie_hash)
            .bind(tenant.workspace_id().as_str())
            .bind(session_id.as_str())
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
            cookie
        }
        SessionKind::Api => insert_refresh(&mut tx, &session_id, now_ms).await?,
    };
    let event = NewEvent {
        actor_type: "contact",
        actor_id: contact.to_string(),
        action: "portal.signed_in",
        entity_type: "portal_session",
        entity_id: session_id.to_string(),
        summary: json!({"contact_id": contact.as_str(), "kind": kind.as_str(), "by": by}),
        ip: from.ip.clone(),
        user_agent: from.user_agent.clone(),
        request_id: from.request_id.clone(),
    };
    audit::append(&mut tx, &event, now_ms).await?;
    let site = super::access::site(&mut tx).await?;
    tx.commit().await?;
    Ok(SignedIn {
        tenant: tenant.clone(),
        contact,
        workspace_slug: site.slug,
        session_id,
        secret,
    })
}

/// A new refresh token (`hfpr_…`) for an API session; only its digest is kept.
async fn insert_refresh(
    tx: &mut TenantTx<'_>,
    session_id: &PortalSessionId,
    now_ms: i64,
) -> Result<Secret<String>, StoreError> {
    let (token, hash) = generate_opaque(REFRESH_PREFIX);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO portal_refresh_tokens (token_hash, workspace_id, session_id, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&hash)
    .bind(ws)
    .bind(session_id.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(token)
}

/// What a refresh token got.
pub enum Refreshed {
    /// Spent; the session's next refresh token (and the session, for its access token).
    Rotated(SignedIn),
    /// Already spent once: someone else may hold it, so its session is ended.
    Reused,
    /// Unknown, or its session is over (ended, expired, unused too long, access taken away).
    Invalid,
}

/// Spends a refresh token of a live API session for the next one. A token used a second time
/// ends its session (a stolen token and its owner cannot both keep going).
pub async fn rotate_refresh(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Refreshed, StoreError> {
    let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT workspace_id, session_id, used_at FROM portal_refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some((ws, session_id, used_at)) = row else {
        return Ok(Refreshed::Invalid);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
    let session_id = PortalSessionId::from_trusted(session_id);
    let mut tx = match db.write(&tenant).await {
        Ok(tx) => tx,
        Err(StoreError::Suspended) => return Ok(Refreshed::Invalid),
        Err(e) => return Err(e),
    };
    let spent = used_at.is_some()
        || sqlx::query(
            "UPDATE portal_refresh_tokens SET used_at = $1 WHERE token_hash = $2 \
             AND workspace_id = $3 AND used_at IS NULL",
        )
        .bind(now_ms)
        .bind(token_hash)
        .bind(tenant.workspace_id().as_str())
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 0;
    if spent {
        sqlx::query(
            "UPDATE portal_sessions SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 \
             AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(tenant.workspace_id().as_str())
        .bind(session_id.as_str())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        tracing::warn!(session_id = %session_id, "portal refresh token reused; session ended");
        return Ok(Refreshed::Reused);
    }
    let contact: Option<String> = sqlx::query_scalar(
        "UPDATE portal_sessions SET last_seen_at = $1 WHERE workspace_id = $2 AND id = $3 \
         AND kind = $4 AND revoked_at IS NULL AND expires_at > $1 AND last_seen_at + $5 > $1 \
         RETURNING contact_id",
    )
    .bind(now_ms)
    .bind(tenant.workspace_id().as_str())
    .bind(session_id.as_str())
    .bind(SessionKind::Api.as_str())
    .bind(SESSION_IDLE_MS)
    .fetch_optional(tx.conn())
    .await?;
    let Some(contact) = contact.map(ContactId::from_trusted) else {
        tx.commit().await?;
        return Ok(Refreshed::Invalid);
    };
    if !super::access::allowed(&mut tx, &contact).await? {
        tx.commit().await?;
        return Ok(Refreshed::Invalid);
    }
    let secret = insert_refresh(&mut tx, &session_id, now_ms).await?;
    let site = super::access::site(&mut tx).await?;
    tx.commit().await?;
    Ok(Refreshed::Rotated(SignedIn {
        tenant,
        contact,
        workspace_slug: site.slug,
        session_id,
        secret,
    }))
}

async fn start_session(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    session_id: &PortalSessionId,
    kind: SessionKind,
    from: &SignInFrom,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO portal_sessions (workspace_id, id, contact_id, user_agent, ip, created_at, \
         last_seen_at, expires_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)",
    )
    .bind(ws)
    .bind(session_id.as_str())
    .bind(contact.as_str())
    .bind(clip(&from.user_agent, 300))
    .bind(clip(&from.ip, 64))
    .bind(now_ms)
    .bind(now_ms + SESSION_ABSOLUTE_MS)
    .bind(kind.as_str())
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
