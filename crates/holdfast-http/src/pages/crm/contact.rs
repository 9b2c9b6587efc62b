//! `/app/contacts/{id}`: one contact as the reader's role may see it (through `Visible`: a
//! hidden field is absent, as in the API), its custom fields, its tickets, its consent per
//! channel with the consent log and the outbound decisions, and its actions, each with the
//! API's guard: the export download (`contacts.export`), preference-link revocation
//! (`contacts.write`), the legal hold, the contact's own retention period and erasure
//! (`contacts.erase` with a recent password).
//! Everything goes through the application functions the API uses.

use crate::audit;
use crate::console::contacts::title;
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem, erasure_outcome};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use holdfast_app::attachments::remove_files;
use holdfast_app::crm::consent::{revoke_links, view};
use holdfast_app::privacy::{change_contact_privacy, erase_audited, staff_export};
use holdfast_core::access::fields::{Field, Visible};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::contact_fields::canonical_text;
use holdfast_core::error::ErrorCode;
use holdfast_core::helpdesk::tickets::TicketFilter;
use holdfast_core::ids::{CompanyId, ContactId};
use holdfast_core::privacy::{ContactPrivacyPatch, ReasonIn};
use holdfast_core::validate::Errors;
use holdfast_store::Lock;
use holdfast_store::crm::{companies, consent, contact_fields, contacts};
use holdfast_store::helpdesk::tickets;
use holdfast_store::identity::auth::Actor;
use holdfast_store::privacy::{self, Erased};
use serde::Deserialize;
use serde_json::json;

const ERASE_STEP_UP: Guard = Guard::StaffStepUp {
    permission: Permission::ContactsErase,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Crm, |t| {
        t.add(
            Method::GET,
            "/app/contacts/{id}",
            Guard::Staff {
                permission: Permission::ContactsRead,
            },
            Doc::page("Console", "A contact"),
            get(contact_page),
        );
        t.add(
            Method::GET,
            "/app/contacts/{id}/export",
            Guard::Staff {
                permission: Permission::ContactsExport,
            },
            Doc::page("Console", "Download everything held about a contact (JSON)"),
            get(export_download),
        );
        t.add(
            Method::POST,
            "/app/contacts/{id}/preference-links/revoke",
            Guard::Staff {
                permission: Permission::ContactsWrite,
            },
            Doc::page("Console", "Revoke a contact's preference links").redirect(),
            post(links_revoke),
        );
        t.add(
            Method::POST,
            "/app/contacts/{id}/legal-hold",
            ERASE_STEP_UP,
            Doc::page("Console", "Put a contact on legal hold, or lift it").redirect(),
            post(legal_hold_set),
        );
        // As the API's `PATCH /api/v1/contacts/{id}/privacy`: shortening retention lets the
        // daily run erase the contact sooner.
        t.add(
            Method::POST,
            "/app/contacts/{id}/retention",
            ERASE_STEP_UP,
            Doc::page(
                "Console",
                "Set a contact's own retention period, or return it to the workspace's",
            )
            .redirect(),
            post(retention_set),
        );
        t.add(
            Method::POST,
            "/app/contacts/{id}/erase",
            ERASE_STEP_UP,
            Doc::page("Console", "Erase a contact").redirect(),
            post(contact_erase),
        );
    });
}

/// Entries of the consent log and of the outbound decisions shown.
const LOG_SHOWN: u32 = 100;
/// Tickets shown.
const TICKETS_SHOWN: u32 = 50;

fn contact_id(text: &str) -> ApiResult<ContactId> {
    ContactId::parse(text).ok_or_else(|| Problem::not_found("contact"))
}

/// One labelled value of the contact.
struct Detail {
    label: String,
    value: String,
}

struct ChannelRow {
    channel: String,
    status: &'static str,
    lawful_basis: String,
    source: String,
    when: String,
}

struct LogRow {
    when: String,
    what: String,
    change: String,
    source: String,
    actor: String,
    note: String,
}

struct DecisionRow {
    when: String,
    channel: String,
    purpose: String,
    stage: String,
    decision: String,
    reason: String,
}

struct TicketRow {
    id: String,
    subject: String,
    status: String,
    when: String,
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    frame: Frame,
    id: String,
    title: String,
    details: Vec<Detail>,
    company: Option<(String, String)>,
    custom: Option<Vec<Detail>>,
    tickets: Option<Vec<TicketRow>>,
    mode: &'static str,
    do_not_contact: bool,
    do_not_sell: bool,
    channels: Vec<ChannelRow>,
    log: Vec<LogRow>,
    log_more: bool,
    decisions: Vec<DecisionRow>,
    decisions_more: bool,
    /// `Some(on hold)` for a role that may see and change the hold (`contacts.erase`).
    legal_hold: Option<bool>,
    /// The contact's own retention period in days (`None`: the workspace's periods), for the
    /// same role.
    retention_days: Option<i64>,
    may_export: bool,
    may_write: bool,
    /// The client portal is on: a link to the contact's portal access.
    portal: bool,
    revoked: Option<u64>,
}

#[derive(Deserialize)]
struct ContactQuery {
    revoked: Option<u64>,
}

async fn contact_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<ContactQuery>,
) -> ApiResult<Response> {
    let id = contact_id(&id)?;
    let role = &actor.role;
    let mut tx = state.db.read(&actor.tenant).await?;
    let contact = contacts::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let visible = Visible::contact(role, &contact);
    let mut details = Vec::new();
    for (field, label) in [
        (Field::ContactsName, "Name"),
        (Field::ContactsEmail, "Email"),
        (Field::ContactsPhone, "Phone"),
        (Field::ContactsCompany, "Company (as written)"),
    ] {
        if let Some(value) = visible.text(field) {
            details.push(Detail {
                label: label.to_owned(),
                value: value.to_owned(),
            });
        }
    }
    if visible.shows(Field::ContactsTags) {
        let tags: Vec<&str> = visible.as_json()["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        details.push(Detail {
            label: "Tags".to_owned(),
            value: tags.join(", "),
        });
    }
    // The linked company record goes with the company field: shown only to who sees it.
    let linked = visible.as_json()["company_id"]
        .as_str()
        .and_then(CompanyId::parse);
    let company = match linked {
        Some(company) if visible.shows(Field::ContactsCompany) => companies::get(&mut tx, &company)
            .await?
            .map(|c| (c.id, c.name)),
        _ => None,
    };
    let custom = if visible.shows(Field::ContactsCustom) {
        let values = &visible.as_json()["custom"];
        let defs = contact_fields::defs(&mut tx).await?;
        Some(
            defs.into_iter()
                .map(|d| Detail {
                    value: values.get(&d.key).map(canonical_text).unwrap_or_default(),
                    label: d.label,
                })
                .collect(),
        )
    } else {
        None
    };
    let tickets = if role.grants(Permission::TicketsRead)
        && actor.modules.contains(Module::Helpdesk)
    {
        let mut errors = Errors::default();
        let filter = TicketFilter::parse(None, None, None, Some(id.as_str()), None, &mut errors);
        let rows = tickets::list(&mut tx, &filter, None, TICKETS_SHOWN).await?;
        Some(
            rows.into_iter()
                .map(|t| TicketRow {
                    when: console::when(t.last_message_at),
                    id: t.id,
                    subject: t.subject,
                    status: t.status,
                })
                .collect(),
        )
    } else {
        None
    };
    let standing = consent::standing(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let settings = consent::settings(&mut tx).await?;
    let mut log = consent::log(&mut tx, &id, None, LOG_SHOWN + 1).await?;
    let mut decisions = consent::outreach(&mut tx, &id, None, LOG_SHOWN + 1).await?;
    let privacy = if role.grants(Permission::ContactsErase) {
        privacy::contact_privacy(&mut tx, &id).await?
    } else {
        None
    };
    let legal_hold = privacy.as_ref().map(|p| p.legal_hold);
    let retention_days = privacy.and_then(|p| p.retention_days);
    tx.commit().await?;
    let consent = view(&id, &standing, &settings);
    let log_more = log.len() > LOG_SHOWN as usize;
    log.truncate(LOG_SHOWN as usize);
    let decisions_more = decisions.len() > LOG_SHOWN as usize;
    decisions.truncate(LOG_SHOWN as usize);
    let page = ContactPage {
        frame: Frame::new(&state, &actor, "/app/contacts").await?,
        title: title(id.as_str(), &visible),
        id: id.to_string(),
        details,
        company,
        custom,
        tickets,
        mode: consent.mode.as_str(),
        do_not_contact: consent.do_not_contact,
        do_not_sell: consent.do_not_sell,
        channels: consent
            .channels
            .into_iter()
            .map(|(channel, c)| ChannelRow {
                channel,
                status: c.status.as_str(),
                lawful_basis: c.lawful_basis.map(|b| b.as_str()).unwrap_or("").to_owned(),
                source: c.source.map(|s| s.as_str()).unwrap_or("").to_owned(),
                when: c.updated_at.map(console::when).unwrap_or_default(),
            })
            .collect(),
        log: log
            .into_iter()
            .map(|e| LogRow {
                when: console::when(e.created_at),
                what: match e.channel {
                    Some(channel) => format!("{} ({channel})", e.field),
                    None => e.field,
                },
                change: format!("{} → {}", e.old_value, e.new_value),
                source: e.source,
                actor: e.actor,
                note: e.note.unwrap_or_default(),
            })
            .collect(),
        log_more,
        decisions: decisions
            .into_iter()
            .map(|d| DecisionRow {
                when: console::when(d.created_at),
                channel: d.channel,
                purpose: d.purpose,
                stage: d.stage,
                decision: d.decision,
                reason: d.reason.unwrap_or_default(),
            })
            .collect(),
        decisions_more,
        legal_hold,
        retention_days,
        may_export: role.grants(Permission::ContactsExport) && role.grants(Permission::TicketsRead),
        may_write: role.grants(Permission::ContactsWrite),
        portal: actor.modules.contains(Module::ClientPortal),
        revoked: query.revoked,
    };
    Ok(console::render(StatusCode::OK, &page))
}

/// The contact's export as a file (`GET /api/v1/contacts/{id}/export`'s document, audited
/// the same way).
async fn export_download(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = contact_id(&id)?;
    let by = audit::by(
        &actor,
        &client,
        "contact.exported",
        "contact",
        id.as_str(),
        json!({"via": "console"}),
    );
    let now = state.clock.now_ms();
    let document = staff_export(&state.db, &actor.tenant, &actor.role, &id, by, now)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let body = serde_json::to_string_pretty(&document).unwrap_or_default();
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"contact-{id}.json\""))
    {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(console::CSP),
    );
    Ok(response)
}

/// The fields of the contact's action forms; each action reads what it needs (a form naming
/// other fields is not refused for them).
#[derive(Deserialize)]
struct ActionForm {
    reason: Option<String>,
    legal_hold: Option<String>,
    retention_days: Option<String>,
}

async fn links_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = contact_id(&id)?;
    let _: ActionForm = console::form(&headers, &body)?;
    let now = state.clock.now_ms();
    let by = audit::by(
        &actor,
        &client,
        "contact.preference_links_revoked",
        "contact",
        id.as_str(),
        json!({}),
    );
    let mut tx = state.db.write(&actor.tenant).await?;
    let revoked = revoke_links(&mut tx, &id, by, now)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    tx.commit().await?;
    Ok(see_other(
        &format!("/app/contacts/{id}?revoked={revoked}"),
        is_htmx(&headers),
    ))
}

/// Whether the contact exists, in the action's transaction (an unknown contact is 404 before
/// the form's fields are weighed).
async fn exists(tx: &mut holdfast_store::TenantTx<'_>, id: &ContactId) -> ApiResult<()> {
    contacts::get(tx, id, Lock::ForUpdate)
        .await?
        .map(|_| ())
        .ok_or_else(|| Problem::not_found("contact"))
}

/// Changes the contact's legal hold or retention period as `PATCH /api/v1/contacts/{id}/privacy`
/// does (validated, audited with before, after and the reason), then back to the contact. An
/// unknown contact is 404 before the form is weighed.
async fn privacy_set(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
    id: &ContactId,
    headers: &HeaderMap,
    patch: impl FnOnce() -> ApiResult<ContactPrivacyPatch>,
) -> ApiResult<Response> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    exists(&mut tx, id).await?;
    let change = patch()?.validate().map_err(Problem::validation)?;
    let by = audit::by(
        actor,
        client,
        "contact.privacy_changed",
        "contact",
        id.as_str(),
        json!({}),
    );
    change_contact_privacy(&mut tx, id, &change, by, now)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    tx.commit().await?;
    Ok(see_other(&format!("/app/contacts/{id}"), is_htmx(headers)))
}

async fn legal_hold_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = contact_id(&id)?;
    let form: ActionForm = console::form(&headers, &body)?;
    privacy_set(&state, &actor, &client, &id, &headers, || {
        let legal_hold = match form.legal_hold.as_deref() {
            Some("on") => true,
            Some("off") => false,
            _ => {
                return Err(Problem::field(
                    ErrorCode::Validation,
                    "legal_hold",
                    "must be on or off",
                ));
            }
        };
        Ok(ContactPrivacyPatch {
            legal_hold: Some(legal_hold),
            retention_days: None,
            reason: form.reason.unwrap_or_default(),
        })
    })
    .await
}

/// The contact's own retention period: days (from 7 to 36500), or empty for the workspace's
/// periods again.
async fn retention_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = contact_id(&id)?;
    let form: ActionForm = console::form(&headers, &body)?;
    privacy_set(&state, &actor, &client, &id, &headers, || {
        let days = match form.retention_days.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                Problem::field(
                    ErrorCode::Validation,
                    "retention_days",
                    "must be a whole number of days from 7 to 36500, or empty for the workspace's periods",
                )
            })?),
        };
        Ok(ContactPrivacyPatch {
            legal_hold: None,
            retention_days: Some(days),
            reason: form.reason.unwrap_or_default(),
        })
    })
    .await
}

async fn contact_erase(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = contact_id(&id)?;
    let form: ActionForm = console::form(&headers, &body)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    exists(&mut tx, &id).await?;
    let reason = ReasonIn {
        reason: form.reason.unwrap_or_default(),
    }
    .validate()
    .map_err(Problem::validation)?;
    let by = audit::by(
        &actor,
        &client,
        "contact.erased",
        "contact",
        id.as_str(),
        json!({"reason": reason, "via": "console"}),
    );
    let report = match erase_audited(&mut tx, &id, None, by, now).await? {
        Erased::Held => {
            return Err(Problem::new(
                ErrorCode::Conflict,
                "this contact is on legal hold, so it cannot be erased; lift the hold on its page first",
            ));
        }
        outcome => erasure_outcome(outcome, "erased")?,
    };
    tx.commit().await?;
    let files = remove_files(&state.db, &state.config.data_dir, &report.blobs).await;
    tracing::info!(contact = %id, tickets = report.tickets, files, "contact erased from the console");
    Ok(see_other("/app/contacts?erased=1", is_htmx(&headers)))
}
