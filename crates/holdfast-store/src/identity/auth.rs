//! Authentication: turns a presented credential into an [`Actor`], constructing its [`Tenant`]
//! (one of the few places that may: see `tenant.rs`).

use crate::db::Db;
use crate::error::StoreError;
use crate::identity::SessionKind;
use crate::tenant::Tenant;
use holdfast_core::access::modules::ModuleSet;
use holdfast_core::access::policy::Role;
use holdfast_core::identity::jwt::{KeyRing, TokenType};
use holdfast_core::ids::{ApiKeyId, SessionId, UserId, WorkspaceId};
use holdfast_core::token::{PresentedKey, constant_time_eq};

/// Who is acting: a workspace, the credential and its role.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: Tenant,
    pub principal: Principal,
    pub role: Role,
    /// The workspace requires two-factor sign-in and this user has not enrolled: only their own
    /// account routes (enrolment, sessions) are open to them.
    pub must_enrol_2fa: bool,
    /// The modules the workspace has on, as of this request.
    pub modules: ModuleSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    ApiKey(ApiKeyId),
    /// A signed-in user, through one of their sessions.
    /// `stepped_up_at`: when the session last re-confirmed the password (sensitive actions).
    User {
        user_id: UserId,
        session_id: SessionId,
        stepped_up_at: Option<i64>,
    },
}

/// `last_used_at` is written at most this often per key, so a busy key does not turn every
/// read into a write.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct KeyRow {
    workspace_id: String,
    modules: String,
    id: String,
    role: String,
    secret_hash: String,
    last_used_at: Option<i64>,
}

/// Looks the key up by its prefix and compares digests in constant time. Revoked keys never
/// match: revocation takes effect on the next request. A key of a suspended workspace is
/// `StoreError::Suspended`.
pub async fn authenticate_api_key(
    db: &Db,
    presented: &PresentedKey,
    now_ms: i64,
) -> Result<Option<Actor>, StoreError> {
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT k.workspace_id, w.modules, k.id, k.role, k.secret_hash, k.last_used_at \
         FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id \
         WHERE k.lookup = $1 AND k.revoked_at IS NULL",
    )
    .bind(presented.lookup.as_str())
    .fetch_all(&db.pool)
    .await?;
    let Some(row) = rows
        .into_iter()
        .find(|r| constant_time_eq(&r.secret_hash, &presented.hash))
    else {
        return Ok(None);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(row.workspace_id.clone()));
    // A suspended workspace's key is refused here, as its sessions are (their look-up opens a
    // tenant transaction), not only by a handler's first transaction: a route that opens none
    // (the live event stream) is closed too.
    if db.is_suspended(&tenant).await? {
        return Err(StoreError::Suspended);
    }
    let Some(role) = resolve_role(db, &tenant, &row.role).await? else {
        tracing::warn!(key_id = %row.id, "api key names a role that no longer exists; refusing it");
        return Ok(None);
    };
    if row
        .last_used_at
        .is_none_or(|t| now_ms - t >= LAST_USED_GRANULARITY_MS)
    {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(now_ms)
            .bind(row.workspace_id.as_str())
            .bind(row.id.as_str())
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(Actor {
        tenant,
        principal: Principal::ApiKey(ApiKeyId::from_trusted(row.id)),
        role,
        must_enrol_2fa: false,
        modules: ModuleSet::from_json(&row.modules),
    }))
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: String,
    modules: String,
    role: String,
    last_seen_at: i64,
    stepped_up_at: Option<i64>,
    require_2fa: i64,
    totp_on: i64,
}

/// Verifies an access token, then checks that its session is still live (not revoked, not
/// past its absolute or idle expiry) and takes the role from the membership as it is now. So
/// ending a session or removing a member takes effect on the next request, not at token expiry.
pub async fn authenticate_access_token(
    db: &Db,
    ring: &KeyRing,
    token: &str,
    now_ms: i64,
) -> Result<Option<Actor>, StoreError> {
    let Some(claims) = ring.verify(token, TokenType::Access, now_ms / 1000) else {
        return Ok(None);
    };
    let (Some(ws), Some(user_id), Some(session_id)) = (
        WorkspaceId::parse(&claims.ws),
        UserId::parse(&claims.sub),
        SessionId::parse(&claims.sid),
    ) else {
        return Ok(None);
    };
    live_session(db, Tenant::new(ws), session_id, SessionKind::Api, now_ms)
        .await
        .map(|actor| actor.filter(|a| a.user_id() == Some(&user_id)))
}

/// Looks a console session up by its cookie's hash; the same liveness rules as tokens.
pub async fn authenticate_session_cookie(
    db: &Db,
    cookie_hash: &str,
    now_ms: i64,
) -> Result<Option<Actor>, StoreError> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT workspace_id, session_id FROM session_cookies WHERE token_hash = $1",
    )
    .bind(cookie_hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some((ws, session_id)) = found else {
        return Ok(None);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
    let session_id = SessionId::from_trusted(session_id);
    live_session(db, tenant, session_id, SessionKind::Console, now_ms).await
}

/// The actor of a live session of `kind`: not revoked, not past its absolute or idle expiry
/// (for console sessions also not past the workspace's current, possibly tightened, policy),
/// its user still a member (role as it is now). Marks the session seen (at most once a minute).
async fn live_session(
    db: &Db,
    tenant: Tenant,
    session_id: SessionId,
    kind: SessionKind,
    now_ms: i64,
) -> Result<Option<Actor>, StoreError> {
    let mut tx = db.read(&tenant).await?;
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.user_id, w.modules, m.role, s.last_seen_at, s.stepped_up_at, w.require_2fa, \
         (SELECT count(*) FROM user_totp t WHERE t.user_id = s.user_id AND t.confirmed_at IS NOT NULL) AS totp_on \
         FROM sessions s JOIN workspaces w ON w.id = s.workspace_id \
         JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id \
         JOIN users u ON u.id = s.user_id AND u.locked_at IS NULL \
         WHERE s.workspace_id = $1 AND s.id = $2 AND s.kind = $3 AND s.revoked_at IS NULL \
         AND s.expires_at > $4 AND s.last_seen_at + s.idle_ms > $4 \
         AND (s.kind <> 'console' OR (s.created_at + w.console_absolute_ms > $4 \
              AND s.last_seen_at + w.console_idle_ms > $4))",
    )
    .bind(tenant.workspace_id().as_str())
    .bind(session_id.as_str())
    .bind(kind.as_str())
    .bind(now_ms)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let Some(role) = resolve_role(db, &tenant, &row.role).await? else {
        return Ok(None);
    };
    if now_ms - row.last_seen_at >= LAST_USED_GRANULARITY_MS {
        let mut tx = db.write(&tenant).await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(now_ms)
            .bind(tenant.workspace_id().as_str())
            .bind(session_id.as_str())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
    }
    Ok(Some(Actor {
        tenant,
        principal: Principal::User {
            user_id: UserId::from_trusted(row.user_id),
            session_id,
            stepped_up_at: row.stepped_up_at,
        },
        role,
        must_enrol_2fa: row.require_2fa == 1 && row.totp_on == 0,
        modules: ModuleSet::from_json(&row.modules),
    }))
}

/// A stored role name as the role it is now: built-in roles need no lookup; a custom role is
/// read from the workspace (so editing it takes effect on the next request).
async fn resolve_role(db: &Db, tenant: &Tenant, stored: &str) -> Result<Option<Role>, StoreError> {
    if let Some(builtin) = holdfast_core::access::policy::BuiltinRole::parse(stored) {
        return Ok(Some(Role::builtin(builtin)));
    }
    let mut tx = db.read(tenant).await?;
    let role = crate::access::roles::resolve(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(role)
}

impl Actor {
    /// The signed-in user, when the credential is a session.
    pub fn user_id(&self) -> Option<&UserId> {
        match &self.principal {
            Principal::User { user_id, .. } => Some(user_id),
            Principal::ApiKey(_) => None,
        }
    }
}
