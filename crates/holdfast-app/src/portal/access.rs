//! Who may sign in to the client portal, as staff decide it, for the API and the console:
//! a contact's own access (on, off, or the workspace's default), their live sessions and
//! ending one, the workspace's default, and inviting a contact by mail. Taking access away
//! ends the contact's sessions at once. Every change is audited.

use crate::audit::Origin;
use crate::outreach::{ContactEmail, Decision, SIGN_IN_LINK, queue_to_contact};
use crate::{App, AppResult};
use holdfast_core::access::fields::{self, Access, Field};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::consent::Purpose;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::time_zone::utc;
use holdfast_core::ids::{ContactId, PortalSessionId};
use holdfast_core::portal::{PortalSessionOut, PortalSettings, PortalSettingsOut};
use holdfast_store::identity::auth::Actor;
use holdfast_store::portal::{access, origins, sessions};
use holdfast_store::{Lock, TenantTx};
use serde_json::json;

/// A contact's portal access as staff see it.
pub struct ContactPortal {
    /// The contact's own setting; `None`: the workspace's default holds.
    pub own: Option<bool>,
    /// Whether they may sign in now (their setting or the default, and an email address).
    pub effective: bool,
    pub sessions: Vec<PortalSessionOut>,
    /// The company whose jobs and invoices their portal also shows (they are its billing
    /// contact and still belong to it).
    pub billing_company: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::not_found("contact")
}

/// The contact's id, or the one 404 of a contact that is not this workspace's.
fn parse(id: &str) -> AppResult<ContactId> {
    ContactId::parse(id).ok_or_else(not_found)
}

async fn exists(tx: &mut TenantTx<'_>, contact: &ContactId, lock: Lock) -> AppResult<()> {
    holdfast_store::crm::contacts::get(tx, contact, lock)
        .await?
        .map(|_| ())
        .ok_or_else(not_found)
}

async fn read(tx: &mut TenantTx<'_>, contact: &ContactId, now: i64) -> AppResult<ContactPortal> {
    let own = access::own_setting(tx, contact).await?;
    let effective = access::allowed(tx, contact).await?;
    let sessions = sessions::of_contact(tx, contact, now)
        .await?
        .into_iter()
        .map(|s| PortalSessionOut {
            id: s.id,
            contact_id: s.contact_id,
            kind: s.kind,
            user_agent: s.user_agent,
            created_at: utc(s.created_at),
            last_seen_at: utc(s.last_seen_at),
            expires_at: utc(s.expires_at),
        })
        .collect();
    let billing_company = access::billing_company(tx, contact).await?;
    Ok(ContactPortal {
        own,
        effective,
        sessions,
        billing_company,
    })
}

/// Opening the portal to a contact shows them their requests, visits and invoices with their
/// amounts: a role may do it only if it may read all of that itself (and every contact
/// field), so the portal is never a way for staff to see what their own role hides — say, by
/// pointing a contact's address at their own mailbox and signing in.
fn may_open(actor: &Actor) -> AppResult<()> {
    let needed = [
        Permission::TicketsRead,
        Permission::JobsRead,
        Permission::JobsAll,
        Permission::InvoicesRead,
    ];
    let missing: Vec<String> = needed
        .iter()
        .filter(|p| !actor.role.grants(**p))
        .map(|p| p.as_str().to_owned())
        .chain(
            Field::ALL
                .iter()
                .filter(|f| fields::access(&actor.role, **f) == Access::Hidden)
                .map(|f| format!("the field {}.{}", f.resource().as_str(), f.name())),
        )
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "the client portal shows a contact their tickets, jobs and invoices with amounts, so \
             only a role that may read all of that may open it to them; this role ({}) lacks: {}",
            actor.role.as_str(),
            missing.join(", ")
        ),
    ))
}

/// The contact's portal access and live sessions.
pub async fn of_contact(app: &App, actor: &Actor, id: &str) -> AppResult<ContactPortal> {
    let contact = parse(id)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.read(&actor.tenant).await?;
    exists(&mut tx, &contact, Lock::Read).await?;
    let out = read(&mut tx, &contact, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Sets the contact's own access (`None`: back to the workspace's default), audited as
/// `contact.portal_access_changed`; when they may no longer sign in, their sessions end and
/// their unspent sign-in and password reset links are spent.
pub async fn set_contact(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    own: Option<bool>,
) -> AppResult<ContactPortal> {
    let contact = parse(id)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    exists(&mut tx, &contact, Lock::ForUpdate).await?;
    let by = format!("{}:{}", origin.actor_type, origin.actor_id);
    access::set_own(&mut tx, &contact, own, &by, now).await?;
    let ended = if access::allowed(&mut tx, &contact).await? {
        // Dropped without a commit when refused: nothing changes.
        may_open(actor)?;
        0
    } else {
        // Their unspent links end too: giving access back must not revive one mailed before.
        holdfast_store::portal::links::spend_all(&mut tx, &contact, now).await?;
        sessions::end_all(&mut tx, &contact, now).await?
    };
    let event = origin.event(
        "contact.portal_access_changed",
        "contact",
        contact.as_str(),
        json!({"access": own, "sessions_ended": ended}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    let out = read(&mut tx, &contact, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Marks the contact the billing contact of their company (`true`: its jobs and invoices
/// join what their portal shows, while they belong to it) or of none (`false`), audited as
/// `contact.portal_billing_changed`. It shows invoices with amounts, so it takes a role that
/// may open the portal; a contact of no company is 409.
pub async fn set_billing(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    billing: bool,
) -> AppResult<ContactPortal> {
    let contact = parse(id)?;
    may_open(actor)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    exists(&mut tx, &contact, Lock::ForUpdate).await?;
    let company = if billing {
        Some(access::company_of(&mut tx, &contact).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "this contact belongs to no company, so they cannot be its billing contact: \
                     set their company first (PATCH /api/v1/contacts/{} with company_id)",
                    contact.as_str()
                ),
            )
        })?)
    } else {
        None
    };
    let before = access::billing_company(&mut tx, &contact).await?;
    let by = format!("{}:{}", origin.actor_type, origin.actor_id);
    access::set_billing(&mut tx, &contact, company.as_deref(), &by, now).await?;
    if before != company {
        let event = origin.event(
            "contact.portal_billing_changed",
            "contact",
            contact.as_str(),
            json!({"before": before, "company_id": company}),
        );
        holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    }
    let out = read(&mut tx, &contact, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Ends one of the contact's portal sessions, audited as `contact.portal_session_ended`;
/// 404 when the contact has no such live session.
pub async fn end_session(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    session: &str,
) -> AppResult<()> {
    let contact = parse(id)?;
    let session = PortalSessionId::parse(session).ok_or_else(|| ApiError::not_found("session"))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    if !sessions::end(&mut tx, &contact, &session, now).await? {
        return Err(ApiError::not_found("session"));
    }
    let event = origin.event(
        "contact.portal_session_ended",
        "contact",
        contact.as_str(),
        json!({"session_id": session.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether contacts staff never chose for may sign in.
pub async fn default_access(app: &App, actor: &Actor) -> AppResult<bool> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let site = access::site(&mut tx).await?;
    tx.commit().await?;
    Ok(site.portal_default)
}

/// Sets the workspace's default, audited as `workspace.portal_default_changed`.
pub async fn set_default_access(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    allowed: bool,
) -> AppResult<bool> {
    let settings = PortalSettings {
        default_access: allowed,
        origins: None,
    };
    Ok(set_settings(app, actor, origin, &settings)
        .await?
        .default_access)
}

/// The workspace's portal settings: its default and the origins that may call its portal API.
pub async fn settings(app: &App, actor: &Actor) -> AppResult<PortalSettingsOut> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let site = access::site(&mut tx).await?;
    let origins = origins::of_workspace(&mut tx).await?;
    tx.commit().await?;
    Ok(PortalSettingsOut {
        default_access: site.portal_default,
        origins,
    })
}

/// Sets the workspace's default (audited as `workspace.portal_default_changed`) and, when
/// given, its portal API origins (`workspace.portal_origins_changed`, with the list), in one
/// transaction.
pub async fn set_settings(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    settings: &PortalSettings,
) -> AppResult<PortalSettingsOut> {
    if settings.default_access {
        may_open(actor)?;
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    access::set_default(&mut tx, settings.default_access, now).await?;
    let ws = actor.tenant.workspace_id().to_string();
    let event = origin.event(
        "workspace.portal_default_changed",
        "workspace",
        ws.clone(),
        json!({"default_access": settings.default_access}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    if let Some(list) = &settings.origins {
        let before = origins::of_workspace(&mut tx).await?;
        origins::replace(&mut tx, list).await?;
        let after = origins::of_workspace(&mut tx).await?;
        if before != after {
            let event = origin.event(
                "workspace.portal_origins_changed",
                "workspace",
                ws,
                json!({"before": before, "after": after}),
            );
            holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
        }
    }
    let origins = origins::of_workspace(&mut tx).await?;
    tx.commit().await?;
    Ok(PortalSettingsOut {
        default_access: settings.default_access,
        origins,
    })
}

/// Sends the contact an invitation to the client portal: a mail (through the sending choke
/// point, as a transactional mail, so Do Not Contact holds) with a sign-in link made when it
/// is sent, audited as `contact.portal_invited`. 409 when the contact may not sign in (their
/// access is off, or they have no email address) or the choke point refuses the mail (the
/// reason named).
pub async fn invite(app: &App, actor: &Actor, origin: &Origin, id: &str) -> AppResult<()> {
    let contact = parse(id)?;
    may_open(actor)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    exists(&mut tx, &contact, Lock::ForUpdate).await?;
    if !access::allowed(&mut tx, &contact).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "this contact may not sign in to the client portal (their access is off, or they \
                 have no email address): turn it on first with PUT /api/v1/contacts/{}/portal",
                contact.as_str()
            ),
        ));
    }
    let site = access::site(&mut tx).await?;
    let base = app.config.public_url.trim_end_matches('/');
    let mail = ContactEmail {
        subject: format!("{} invites you to its customer portal", site.name),
        body: format!(
            "{name} invites you to its customer portal, where you can see your requests, \
             visits and invoices, and pay online.\n\n\
             Sign in with this link within 24 hours (it works once):\n{SIGN_IN_LINK}\n\n\
             Later, ask for a new link at any time at {base}/portal/{slug}\n",
            name = site.name,
            slug = site.slug,
        ),
        sign_in_link: true,
        ..ContactEmail::default()
    };
    match queue_to_contact(&mut tx, &contact, Purpose::Transactional, mail, now).await? {
        Decision::Queued => {}
        Decision::Blocked { detail, .. } => {
            // The refusal is recorded by the choke point; nothing else is written.
            tx.commit().await?;
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("the invitation was not sent: {detail}"),
            ));
        }
    }
    let event = origin.event(
        "contact.portal_invited",
        "contact",
        contact.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The address of the workspace's client portal, to share with customers.
pub async fn portal_address(app: &App, actor: &Actor) -> AppResult<String> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let site = access::site(&mut tx).await?;
    tx.commit().await?;
    Ok(format!(
        "{}/portal/{}",
        app.config.public_url.trim_end_matches('/'),
        site.slug
    ))
}
