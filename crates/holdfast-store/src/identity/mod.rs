//! Identity: the authentication layer. `auth` turns a credential into an `Actor`; this module
//! signs people in; `sessions`, `two_factor` and `oidc` keep sessions, authenticators and
//! single-sign-on links.
//!
//! Sign-in, part of the authentication layer: finds a login candidate, throttles failed
//! sign-ins per account, starts sessions and rotates refresh tokens. Constructs a `Tenant`
//! only for a workspace the caller has just proven membership of.

pub mod auth;
pub mod oidc;
pub mod sessions;
pub mod two_factor;

use crate::db::Db;
use crate::error::{Classify, StoreError};
use crate::ops::audit::NewEvent;
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::ids::{RefreshTokenId, SessionId, UserId, WorkspaceId};
use holdfast_core::secret::Secret;
use holdfast_core::token::generate_opaque;

/// A session ends 30 days after sign-in whatever happens…
pub const ABSOLUTE_TIMEOUT_MS: i64 = 30 * 24 * 3600 * 1000;
/// …and after 7 days without use.
pub const IDLE_TIMEOUT_MS: i64 = 7 * 24 * 3600 * 1000;
pub const REFRESH_PREFIX: &str = "hfr";
/// Failed sign-ins allowed before each further one adds a delay (2 s, 4 s, … up to 15 min).
pub const FREE_FAILURES: i64 = 5;
const MAX_LOCK_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginCandidate {
    pub user_id: String,
    pub password_hash: Option<String>,
    pub workspace_id: String,
    pub role: String,
}

/// Whether the operator has suspended the workspace a sign-in's candidate asks for: checked
/// once the password (and code) proved right, so only the account's holder learns it.
pub async fn candidate_suspended(db: &Db, candidate: &LoginCandidate) -> Result<bool, StoreError> {
    let tenant = Tenant::new(WorkspaceId::from_trusted(candidate.workspace_id.clone()));
    db.is_suspended(&tenant).await
}

/// The user with this email who is a member of the workspace `slug`, if any.
pub async fn unscoped_login_candidate(
    db: &Db,
    email: &str,
    slug: &str,
) -> Result<Option<LoginCandidate>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.password_hash, w.id AS workspace_id, m.role FROM users u \
         JOIN memberships m ON m.user_id = u.id JOIN workspaces w ON w.id = m.workspace_id \
         WHERE u.email = $1 AND w.slug = $2",
    )
    .bind(email)
    .bind(slug)
    .fetch_optional(&db.pool)
    .await?)
}

pub async fn unscoped_set_password_hash(
    db: &Db,
    user_id: &str,
    hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// When the account named by `subject` may try again, if it is locked now.
pub async fn throttle_locked_until(
    db: &Db,
    subject: &str,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE subject = $1")
            .bind(subject)
            .fetch_optional(&db.pool)
            .await?;
    Ok(until.filter(|u| *u > now_ms))
}

/// Failures older than this are forgotten, so nobody can keep a known account locked forever.
pub const FAILURE_MEMORY_MS: i64 = 60 * 60 * 1000;

/// Counts a failed sign-in atomically (concurrent failures all count); returns how many in a row
/// there have been within the last hour.
pub async fn record_failed_login(db: &Db, subject: &str, now_ms: i64) -> Result<i64, StoreError> {
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO login_throttle (subject, failures, locked_until, updated_at) VALUES ($1, 1, 0, $2) \
         ON CONFLICT (subject) DO UPDATE SET \
         failures = CASE WHEN login_throttle.updated_at < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
         updated_at = $2 RETURNING failures",
    )
    .bind(subject)
    .bind(now_ms)
    .bind(now_ms - FAILURE_MEMORY_MS)
    .fetch_one(&db.pool)
    .await?;
    if failures > FREE_FAILURES {
        let exponent = u32::try_from((failures - FREE_FAILURES).min(20)).unwrap_or(20);
        let locked_until = now_ms + (1000_i64 << exponent).min(MAX_LOCK_MS);
        sqlx::query(
            "UPDATE login_throttle SET locked_until = $2 WHERE subject = $1 AND locked_until < $2",
        )
        .bind(subject)
        .bind(locked_until)
        .execute(&db.pool)
        .await?;
    }
    Ok(failures)
}

pub async fn clear_failed_logins(db: &Db, subject: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_throttle WHERE subject = $1")
        .bind(subject)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A session just started or refreshed: what the caller needs to mint the access token.
#[derive(Debug)]
pub struct Issued {
    pub tenant: Tenant,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub refresh_token: Secret<String>,
}

async fn insert_refresh(
    tx: &mut TenantTx<'_>,
    session_id: &str,
    now_ms: i64,
) -> Result<Secret<String>, StoreError> {
    let (token, hash) = generate_opaque(REFRESH_PREFIX);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO refresh_tokens (workspace_id, id, session_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ws)
    .bind(RefreshTokenId::generate(now_ms).as_str())
    .bind(session_id)
    .bind(hash)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(token)
}

/// What kind of session a sign-in starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Access token + rotating refresh token, for API clients.
    Api,
    /// An opaque id in an HttpOnly cookie, for the browser console.
    Console,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Api => "api",
            SessionKind::Console => "console",
        }
    }

    /// Ends after this long without use.
    pub fn idle_ms(self) -> i64 {
        match self {
            SessionKind::Api => IDLE_TIMEOUT_MS,
            SessionKind::Console => CONSOLE_IDLE_TIMEOUT_MS,
        }
    }

    /// Ends this long after sign-in whatever happens.
    pub fn absolute_ms(self) -> i64 {
        match self {
            SessionKind::Api => ABSOLUTE_TIMEOUT_MS,
            SessionKind::Console => CONSOLE_ABSOLUTE_TIMEOUT_MS,
        }
    }
}

/// By default (each workspace's security settings may change it), a console session ends after
/// 8 hours without a request (a working day's pause)…
pub const CONSOLE_IDLE_TIMEOUT_MS: i64 = 8 * 3600 * 1000;
/// …and 7 days after sign-in.
pub const CONSOLE_ABSOLUTE_TIMEOUT_MS: i64 = 7 * 24 * 3600 * 1000;
/// The console session cookie's value: `hfs_` and 43 base62 characters.
pub const COOKIE_PREFIX: &str = "hfs";

/// Inserts a session that ends after `idle_ms` without use or `absolute_ms` after now.
#[allow(clippy::too_many_arguments)]
async fn insert_session(
    tx: &mut TenantTx<'_>,
    kind: SessionKind,
    (idle_ms, absolute_ms): (i64, i64),
    user_id: &str,
    user_agent: Option<&str>,
    ip: Option<&str>,
    now_ms: i64,
) -> Result<SessionId, StoreError> {
    // Every sign-in (password, single sign-on, an invitation, a setup link) starts its
    // session here: a locked account starts none.
    let locked: Option<Option<i64>> =
        sqlx::query_scalar("SELECT locked_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(tx.conn())
            .await?;
    if locked.flatten().is_some() {
        return Err(StoreError::Locked);
    }
    let session_id = SessionId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO sessions (workspace_id, id, user_id, user_agent, ip, created_at, last_seen_at, expires_at, kind, idle_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)",
    )
    .bind(ws)
    .bind(session_id.as_str())
    .bind(user_id)
    .bind(user_agent)
    .bind(ip)
    .bind(now_ms)
    .bind(now_ms + absolute_ms)
    .bind(kind.as_str())
    .bind(idle_ms)
    .execute(tx.conn())
    .await?;
    Ok(session_id)
}

/// Starts an API session (access + refresh tokens) for a candidate just verified, and records
/// the sign-in in the workspace's audit trail in the same transaction.
pub async fn start_session(
    db: &Db,
    candidate: &LoginCandidate,
    audit: &NewEvent,
    user_agent: Option<&str>,
    ip: Option<&str>,
    now_ms: i64,
) -> Result<Issued, StoreError> {
    let tenant = Tenant::new(WorkspaceId::from_trusted(candidate.workspace_id.clone()));
    let mut tx = db.write(&tenant).await?;
    let session_id = insert_session(
        &mut tx,
        SessionKind::Api,
        (SessionKind::Api.idle_ms(), SessionKind::Api.absolute_ms()),
        &candidate.user_id,
        user_agent,
        ip,
        now_ms,
    )
    .await?;
    let refresh_token = insert_refresh(&mut tx, session_id.as_str(), now_ms).await?;
    crate::ops::audit::append(&mut tx, audit, now_ms).await?;
    tx.commit().await?;
    Ok(Issued {
        tenant,
        user_id: UserId::from_trusted(candidate.user_id.clone()),
        session_id,
        refresh_token,
    })
}

/// A console session just started: the cookie value is shown to the browser once.
#[derive(Debug)]
pub struct ConsoleIssued {
    pub tenant: Tenant,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub cookie: Secret<String>,
    pub expires_at: i64,
}

/// Starts a console (cookie) session for a candidate just verified; stores the cookie's hash
/// and records the sign-in in the audit trail, in one transaction.
pub async fn start_console_session(
    db: &Db,
    candidate: &LoginCandidate,
    audit: &NewEvent,
    user_agent: Option<&str>,
    ip: Option<&str>,
    now_ms: i64,
) -> Result<ConsoleIssued, StoreError> {
    let tenant = Tenant::new(WorkspaceId::from_trusted(candidate.workspace_id.clone()));
    let mut tx = db.write(&tenant).await?;
    let (idle_ms, absolute_ms): (i64, i64) =
        sqlx::query_as("SELECT console_idle_ms, console_absolute_ms FROM workspaces WHERE id = $1")
            .bind(candidate.workspace_id.as_str())
            .fetch_one(tx.conn())
            .await?;
    let session_id = insert_session(
        &mut tx,
        SessionKind::Console,
        (idle_ms, absolute_ms),
        &candidate.user_id,
        user_agent,
        ip,
        now_ms,
    )
    .await?;
    let (cookie, hash) = generate_opaque(COOKIE_PREFIX);
    sqlx::query(
        "INSERT INTO session_cookies (token_hash, workspace_id, session_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(candidate.workspace_id.as_str())
    .bind(session_id.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    crate::ops::audit::append(&mut tx, audit, now_ms).await?;
    tx.commit().await?;
    Ok(ConsoleIssued {
        tenant,
        user_id: UserId::from_trusted(candidate.user_id.clone()),
        session_id,
        cookie,
        expires_at: now_ms + absolute_ms,
    })
}

#[derive(Debug)]
pub enum Refreshed {
    Rotated(Issued),
    /// A refresh token was presented a second time: its whole session was ended.
    Reused,
    Invalid,
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    workspace_id: String,
    id: String,
    session_id: String,
    used_at: Option<i64>,
}

/// Spends a refresh token and issues the next one in its family. Presenting a spent token ends
/// the session, because only a thief or a replay would hold one.
pub async fn rotate_refresh(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Refreshed, StoreError> {
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT workspace_id, id, session_id, used_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(Refreshed::Invalid);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(row.workspace_id.clone()));
    let ws = row.workspace_id.as_str();
    let mut tx = db.write(&tenant).await?;
    let spent = row.used_at.is_some()
        || sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE workspace_id = $2 AND id = $3 AND used_at IS NULL")
            .bind(now_ms)
            .bind(ws)
            .bind(row.id.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected()
            == 0;
    if spent {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(ws)
            .bind(row.session_id.as_str())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        tracing::warn!(session_id = %row.session_id, "refresh token reused; session ended");
        return Ok(Refreshed::Reused);
    }
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE sessions SET last_seen_at = $1 WHERE workspace_id = $2 AND id = $3 \
         AND revoked_at IS NULL AND expires_at > $1 AND last_seen_at + idle_ms > $1 \
         AND kind = 'api' AND user_id NOT IN (SELECT id FROM users WHERE locked_at IS NOT NULL) \
         RETURNING user_id",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(row.session_id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    let Some(user_id) = user_id else {
        tx.commit().await?;
        return Ok(Refreshed::Invalid);
    };
    let refresh_token = insert_refresh(&mut tx, row.session_id.as_str(), now_ms).await?;
    tx.commit().await?;
    Ok(Refreshed::Rotated(Issued {
        tenant,
        user_id: UserId::from_trusted(user_id),
        session_id: SessionId::from_trusted(row.session_id),
        refresh_token,
    }))
}

pub const RESET_PREFIX: &str = "hfp";
/// A reset token is good for 15 minutes, once.
pub const RESET_TTL_MS: i64 = 15 * 60 * 1000;

/// A new single-use reset token for the user with this (normalised) email, if there is one.
pub async fn unscoped_issue_reset_token(
    db: &Db,
    email: &str,
    now_ms: i64,
) -> Result<Option<Secret<String>>, StoreError> {
    // A locked account gets no reset message (its owner asks the operator), and its asker
    // learns nothing different: the answer was given before this look-up.
    let user: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND locked_at IS NULL")
            .bind(email)
            .fetch_optional(&db.pool)
            .await?;
    let Some(user_id) = user else { return Ok(None) };
    let (token, hash) = generate_opaque(RESET_PREFIX);
    sqlx::query(
        "INSERT INTO reset_tokens (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(holdfast_core::ids::ResetTokenId::generate(now_ms).as_str())
    .bind(user_id)
    .bind(hash)
    .bind(now_ms)
    .bind(now_ms + RESET_TTL_MS)
    .execute(&db.pool)
    .await?;
    Ok(Some(token))
}

/// The account a reset token belongs to.
#[derive(Debug, sqlx::FromRow)]
pub struct ResetOwner {
    pub user_id: String,
    pub email: String,
    /// When the operator locked the account, if they did: its password cannot be reset.
    pub locked_at: Option<i64>,
}

/// Who a reset token belongs to, if it is unspent and unexpired (does not spend it).
pub async fn unscoped_reset_token_owner(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<ResetOwner>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.email, u.locked_at FROM reset_tokens t \
         JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?)
}

/// Spends the token and sets the new password hash in one transaction, then ends every
/// session of the user in every workspace. `false` when the token was spent meanwhile;
/// `StoreError::Locked`, changing nothing, when the operator has locked the account.
pub async fn unscoped_complete_reset(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = match db.backend() {
        crate::Backend::Sqlite => db.pool.begin_with("BEGIN IMMEDIATE").await?,
        crate::Backend::Postgres => db.pool.begin().await?,
    };
    let spent = sqlx::query(
        "UPDATE reset_tokens SET used_at = $1 WHERE token_hash = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now_ms)
    .bind(token_hash)
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if spent != 1 {
        return Ok(false);
    }
    let set =
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND locked_at IS NULL")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if set != 1 {
        // Locked (the token was unspent and the user exists): nothing changes, the token too.
        tx.rollback().await?;
        return Err(StoreError::Locked);
    }
    // Any other reset message sent before this one is void now.
    sqlx::query("UPDATE reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now_ms)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    end_all_sessions_of(db, user_id, now_ms).await?;
    Ok(true)
}

/// Ends the user's sessions in each workspace they belong to, each under that tenant's scope.
pub async fn end_all_sessions_of(db: &Db, user_id: &str, now_ms: i64) -> Result<(), StoreError> {
    end_sessions_of(db, user_id, None, now_ms).await
}

/// Ends the user's sessions in each workspace they belong to, each under that tenant's scope,
/// except `keep` when named.
async fn end_sessions_of(
    db: &Db,
    user_id: &str,
    keep: Option<&SessionId>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let workspaces: Vec<String> = sqlx::query_scalar(
        "SELECT workspace_id FROM memberships WHERE user_id = $1 ORDER BY workspace_id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    let user = UserId::from_trusted(user_id.to_owned());
    for ws in workspaces {
        let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
        // Ending sessions only takes access away: a suspended workspace's sessions end too, so
        // one suspension cannot stop the others' from ending (its transaction opens anyway).
        let mut tx = db.open_tenant_tx(&tenant, true).await?;
        match keep {
            None => crate::identity::sessions::revoke_all(&mut tx, &user, now_ms).await?,
            Some(keep) => {
                crate::identity::sessions::revoke_all_but(&mut tx, &user, keep, now_ms).await?
            }
        };
        tx.commit().await?;
    }
    Ok(())
}

/// A signed-in user's new password (already checked and hashed): the hash set, every reset
/// message sent before void, and every other session of the user ended in every workspace —
/// the session that asked (`keep`) stays.
pub async fn unscoped_change_password(
    db: &Db,
    user_id: &str,
    password_hash: &str,
    keep: &SessionId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = match db.backend() {
        crate::Backend::Sqlite => db.pool.begin_with("BEGIN IMMEDIATE").await?,
        crate::Backend::Postgres => db.pool.begin().await?,
    };
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now_ms)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    end_sessions_of(db, user_id, Some(keep), now_ms).await
}

/// A pending invitation found by its token digest.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingInvitation {
    pub workspace_id: String,
    pub workspace_name: String,
    pub id: String,
    pub email: String,
    pub role: String,
    pub require_2fa: i64,
}

/// The pending invitation with this token digest. An invitation of a suspended workspace is
/// refused with `StoreError::Suspended`, as every other entry to it is: its name, the role and
/// the invited address stay unsaid, and it is not spent.
pub async fn unscoped_pending_invitation(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<PendingInvitation>, StoreError> {
    let found: Option<PendingInvitation> = sqlx::query_as(
        "SELECT i.workspace_id, w.name AS workspace_name, i.id, i.email, i.role, w.require_2fa FROM invitations i \
         JOIN workspaces w ON w.id = i.workspace_id WHERE i.token_hash = $1 \
         AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    if let Some(invitation) = &found {
        let tenant = Tenant::new(WorkspaceId::from_trusted(invitation.workspace_id.clone()));
        if db.is_suspended(&tenant).await? {
            return Err(StoreError::Suspended);
        }
    }
    Ok(found)
}

/// The account with this (normalised) email: its id and password hash.
pub async fn unscoped_user_by_email(
    db: &Db,
    email: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// How the invitee proved who they are.
pub enum Invitee {
    Existing {
        user_id: String,
    },
    /// A new account: with a password, or none when it signs in through OpenID Connect.
    New {
        password_hash: Option<String>,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    Joined(LoginCandidate),
    /// The invitation was used or revoked meanwhile.
    Gone,
    AlreadyMember,
}

/// Spends the invitation and adds the membership (creating the account if needed) in one
/// transaction.
pub async fn accept_invitation(
    db: &Db,
    invitation: &PendingInvitation,
    invitee: Invitee,
    now_ms: i64,
) -> Result<Accepted, StoreError> {
    let tenant = Tenant::new(WorkspaceId::from_trusted(invitation.workspace_id.clone()));
    let ws = invitation.workspace_id.as_str();
    let mut tx = db.write(&tenant).await?;
    // A locked account joins nothing: refused before the invitation is spent.
    if let Invitee::Existing { user_id } = &invitee {
        let locked: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_at FROM users WHERE id = $1")
                .bind(user_id.as_str())
                .fetch_optional(tx.conn())
                .await?;
        if locked.flatten().is_some() {
            return Err(StoreError::Locked);
        }
    }
    let spent = sqlx::query(
        "UPDATE invitations SET accepted_at = $1 WHERE workspace_id = $2 AND id = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(invitation.id.as_str())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if spent != 1 {
        return Ok(Accepted::Gone);
    }
    let (user_id, password_hash) = match invitee {
        Invitee::Existing { user_id } => {
            let member: Option<String> = sqlx::query_scalar(
                "SELECT id FROM memberships WHERE workspace_id = $1 AND user_id = $2",
            )
            .bind(ws)
            .bind(user_id.as_str())
            .fetch_optional(tx.conn())
            .await?;
            if member.is_some() {
                return Ok(Accepted::AlreadyMember);
            }
            (user_id, None)
        }
        Invitee::New { password_hash } => {
            let id = UserId::generate(now_ms).to_string();
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id.as_str())
            .bind(invitation.email.as_str())
            .bind(password_hash.as_deref())
            .bind(now_ms)
            .execute(tx.conn())
            .await
            .classify()?;
            (id, password_hash)
        }
    };
    sqlx::query("INSERT INTO memberships (workspace_id, id, user_id, role, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(ws)
        .bind(holdfast_core::ids::MembershipId::generate(now_ms).as_str())
        .bind(user_id.as_str())
        .bind(invitation.role.as_str())
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(Accepted::Joined(LoginCandidate {
        user_id,
        password_hash,
        workspace_id: invitation.workspace_id.clone(),
        role: invitation.role.clone(),
    }))
}

#[derive(Debug, PartialEq, Eq)]
pub enum AccountDeletion {
    /// Gone; these are the workspaces (ids) it was a member of.
    Deleted(Vec<String>),
    /// Refused: the account is the only owner of these workspaces (slugs).
    LastOwner(Vec<String>),
}

/// Deletes an account with its memberships, sessions, factors and provider links, unless that
/// would leave a workspace without an owner, and revokes the API keys it made (as removing the
/// member would: a key must not outlive its maker's access). Owner rows are locked first on
/// PostgreSQL, so a concurrent demotion cannot slip in between the check and the delete.
pub async fn unscoped_delete_account(
    db: &Db,
    user_id: &str,
    now_ms: i64,
) -> Result<AccountDeletion, StoreError> {
    let _permit = match db.backend() {
        crate::Backend::Sqlite => Some(db.write_gate.clone().acquire_owned().await.ok()),
        crate::Backend::Postgres => None,
    };
    let mut tx = match db.backend() {
        crate::Backend::Sqlite => db.pool.begin_with("BEGIN IMMEDIATE").await?,
        crate::Backend::Postgres => {
            let mut tx = db.pool.begin().await?;
            sqlx::query(
                "SELECT o.id FROM memberships o WHERE o.role = 'owner' AND o.workspace_id IN \
                 (SELECT m.workspace_id FROM memberships m WHERE m.user_id = $1 AND m.role = 'owner') \
                 FOR UPDATE",
            )
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?;
            tx
        }
    };
    let sole: Vec<String> = sqlx::query_scalar(
        "SELECT w.slug FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
         WHERE m.user_id = $1 AND m.role = 'owner' AND NOT EXISTS \
         (SELECT 1 FROM memberships o WHERE o.workspace_id = m.workspace_id AND o.role = 'owner' AND o.user_id <> $1) \
         ORDER BY w.slug",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    if !sole.is_empty() {
        tx.rollback().await?;
        return Ok(AccountDeletion::LastOwner(sole));
    }
    let workspaces: Vec<String> =
        sqlx::query_scalar("SELECT workspace_id FROM memberships WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?;
    // API keys are a directory table (read before a tenant exists), so this transaction
    // reaches every workspace's keys the account made.
    sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE created_by = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(AccountDeletion::Deleted(workspaces))
}

/// Appends an event to a workspace's audit trail from the authentication layer, where no
/// request-scoped transaction exists: a failed or refused sign-in to a known account (nobody is
/// authenticated), or an account deletion (after it committed; the memberships are gone).
/// Recording gives the workspace nothing, so it is recorded while the workspace is suspended
/// too: an attempt on a suspended workspace is exactly what its operator wants to see.
pub async fn unscoped_audit(
    db: &Db,
    workspace_id: &str,
    audit: &NewEvent,
    now_ms: i64,
) -> Result<(), StoreError> {
    let tenant = Tenant::new(WorkspaceId::from_trusted(workspace_id.to_owned()));
    let mut tx = db.open_tenant_tx(&tenant, true).await?;
    crate::ops::audit::append(&mut tx, audit, now_ms).await?;
    tx.commit().await?;
    Ok(())
}
