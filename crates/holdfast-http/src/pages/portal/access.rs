//! The staff side of the client portal in the console: `/app/contacts/{id}/portal` (a
//! contact's portal access — on, off, or the workspace's default — their live portal sessions
//! with an end button each, and an invitation by mail) and `/app/settings/portal` (the
//! workspace's default, the portal's address to share, the sites that may call its API, and
//! its look: colour and logo, `holdfast_app::portal::brand`). The same guards and application
//! functions as `/api/v1/contacts/{id}/portal…` and `/api/v1/portal/settings`
//! (`holdfast_app::portal::access`).

use crate::audit;
use crate::console::contacts::title;
use crate::console::settings::Shell;
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::portal::access as app;
use holdfast_app::portal::brand;
use holdfast_core::access::fields::Visible;
use holdfast_core::access::policy::Permission;
use holdfast_core::brand::{BrandingIn, LOGO_MAX_BYTES, LogoOut, logo_too_large};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::ContactId;
use holdfast_core::portal::{PortalSessionOut, PortalSettingsIn};
use holdfast_store::Lock;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::ContactsWrite,
};
const SETTINGS: &str = "/app/settings/portal";
/// The portal's look: `workspace.manage` with a step-up, like the workspace's name.
const LOOK: Guard = Guard::StaffStepUp {
    permission: Permission::WorkspaceManage,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Console", summary);
    t.add(
        Method::GET,
        "/app/contacts/{id}/portal",
        READ,
        doc("A contact's client portal access and sessions"),
        get(contact_page),
    );
    t.add(
        Method::POST,
        "/app/contacts/{id}/portal",
        WRITE,
        doc("Set a contact's client portal access").redirect(),
        post(access_set),
    );
    t.add(
        Method::POST,
        "/app/contacts/{id}/portal/invite",
        WRITE,
        doc("Mail a contact an invitation to the client portal").redirect(),
        post(invite),
    );
    t.add(
        Method::POST,
        "/app/contacts/{id}/portal/sessions/{session_id}/end",
        WRITE,
        doc("End one of a contact's client portal sessions").redirect(),
        post(session_end),
    );
    t.add(
        Method::GET,
        SETTINGS,
        Guard::Staff {
            permission: Permission::SettingsSecurity,
        },
        doc("The client portal's settings"),
        get(settings_page),
    );
    t.add(
        Method::POST,
        SETTINGS,
        Guard::StaffStepUp {
            permission: Permission::SettingsSecurity,
        },
        doc("Change who may sign in to the client portal by default").redirect(),
        post(settings_change),
    );
    t.add(
        Method::POST,
        "/app/settings/portal/colour",
        LOOK,
        doc("Set the client portal's accent colour").redirect(),
        post(colour_change),
    );
    t.add(
        Method::POST,
        "/app/settings/portal/logo",
        LOOK,
        doc("Upload the client portal's logo").redirect(),
        post(logo_upload),
    );
    t.add(
        Method::POST,
        "/app/settings/portal/logo/remove",
        LOOK,
        doc("Remove the client portal's logo").redirect(),
        post(logo_remove),
    );
}

#[derive(Template)]
#[template(path = "portal_access.html")]
struct ContactPortalPage {
    frame: Frame,
    id: String,
    title: String,
    /// `on`, `off` or `default`.
    access: &'static str,
    effective: bool,
    workspace_default: bool,
    sessions: Vec<SessionRow>,
    may_write: bool,
    portal_url: String,
    /// Whether the contact belongs to a company (then they may be its billing contact).
    has_company: bool,
    /// Whether they are their company's billing contact.
    billing: bool,
    done: Option<&'static str>,
    error: Option<String>,
}

struct SessionRow {
    id: String,
    browser: String,
    started: String,
    last_seen: String,
}

fn row(s: PortalSessionOut) -> SessionRow {
    let local = |t: &str| t.replacen('T', " ", 1).replace('Z', " UTC");
    SessionRow {
        browser: {
            let agent = s.user_agent.unwrap_or_else(|| "unknown".to_owned());
            if s.kind == holdfast_core::portal::SessionKind::Api.as_str() {
                format!("App (API tokens): {agent}")
            } else {
                agent
            }
        },
        started: local(&s.created_at),
        last_seen: local(&s.last_seen_at),
        id: s.id,
    }
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn render(
    state: &AppState,
    actor: &Actor,
    id: &str,
    status: StatusCode,
    done: Option<&'static str>,
    error: Option<String>,
) -> ApiResult<Response> {
    let contact_id = ContactId::parse(id).ok_or_else(|| Problem::not_found("contact"))?;
    let portal = app::of_contact(state, actor, id).await?;
    let workspace_default = app::default_access(state, actor).await?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let contact = holdfast_store::crm::contacts::get(&mut tx, &contact_id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    tx.commit().await?;
    let visible = Visible::contact(&actor.role, &contact);
    let page = ContactPortalPage {
        portal_url: app::portal_address(state, actor).await?,
        frame: Frame::new(state, actor, "/app/contacts").await?,
        id: contact_id.to_string(),
        title: title(contact_id.as_str(), &visible),
        access: match portal.own {
            Some(true) => "on",
            Some(false) => "off",
            None => "default",
        },
        effective: portal.effective,
        workspace_default,
        sessions: portal.sessions.into_iter().map(row).collect(),
        may_write: actor.role.grants(Permission::ContactsWrite),
        has_company: contact.company_id.is_some(),
        billing: portal.billing_company.is_some(),
        done,
        error,
    };
    Ok(console::render(status, &page))
}

async fn contact_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("saved") => Some("Saved."),
        Some("invited") => {
            Some("The invitation is on its way; its sign-in link works once, within 24 hours.")
        }
        Some("ended") => Some("The session has ended: that browser is signed out."),
        _ => None,
    };
    render(&state, &actor, &id, StatusCode::OK, done, None).await
}

/// The page again with the refusal of an action, or on to the page with what was done.
async fn answer(
    state: &AppState,
    actor: &Actor,
    headers: &HeaderMap,
    id: &str,
    outcome: Result<&'static str, ApiError>,
) -> ApiResult<Response> {
    match outcome {
        Ok(done) => Ok(see_other(
            &format!("/app/contacts/{id}/portal?done={done}"),
            is_htmx(headers),
        )),
        // A contact that is not this workspace's is the guard's 404, not a form's refusal.
        Err(e) if e.code == ErrorCode::NotFound && e.detail.contains("contact") => Err(Problem(e)),
        Err(e) => {
            let (status, message) = console::explain(&Problem(e));
            render(state, actor, id, status, None, Some(message)).await
        }
    }
}

#[derive(Deserialize)]
struct AccessForm {
    #[serde(default)]
    access: String,
    /// Present when the form offered the billing contact box (the contact has a company).
    billing_offered: Option<String>,
    /// The box, when ticked.
    billing: Option<String>,
}

async fn access_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let form: AccessForm = console::form(&headers, &body)?;
    let own = match form.access.as_str() {
        "on" => Some(true),
        "off" => Some(false),
        "default" => None,
        _ => {
            let refused = ApiError::new(
                ErrorCode::Validation,
                "access must be on, off or default (the workspace's)",
            );
            return answer(&state, &actor, &headers, &id, Err(refused)).await;
        }
    };
    let origin = audit::origin(&actor, &client);
    let mut outcome = app::set_contact(&state, &actor, &origin, &id, own).await;
    // The billing contact box, when offered and changed: its own audited change.
    if let Ok(portal) = &outcome
        && form.billing_offered.is_some()
        && form.billing.is_some() != portal.billing_company.is_some()
    {
        outcome = app::set_billing(&state, &actor, &origin, &id, form.billing.is_some()).await;
    }
    answer(&state, &actor, &headers, &id, outcome.map(|_| "saved")).await
}

async fn invite(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let origin = audit::origin(&actor, &client);
    let outcome = app::invite(&state, &actor, &origin, &id)
        .await
        .map(|()| "invited");
    answer(&state, &actor, &headers, &id, outcome).await
}

async fn session_end(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    Path((id, session_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let origin = audit::origin(&actor, &client);
    let outcome = app::end_session(&state, &actor, &origin, &id, &session_id)
        .await
        .map(|()| "ended");
    answer(&state, &actor, &headers, &id, outcome).await
}

#[derive(Template)]
#[template(path = "settings/portal.html")]
struct SettingsPage {
    frame: Frame,
    shell: Shell,
    default_access: bool,
    portal_url: String,
    /// The portal API's origins, one per line.
    origins: String,
    /// The accent colour (`#rrggbb`, empty for the portal's own) and the logo.
    colour: String,
    logo: Option<LogoOut>,
    /// The colour field as sent, when it was refused.
    colour_sent: Option<String>,
}

async fn settings_render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
) -> ApiResult<Response> {
    settings_render_with(state, actor, status, shell, None).await
}

async fn settings_render_with(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    colour_sent: Option<String>,
) -> ApiResult<Response> {
    let settings = app::settings(state, actor).await?;
    let branding = brand::branding(state, actor).await?;
    let page = SettingsPage {
        colour: branding.colour.unwrap_or_default(),
        logo: branding.logo,
        colour_sent,
        portal_url: app::portal_address(state, actor).await?,
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        default_access: settings.default_access,
        origins: settings.origins.join("\n"),
    };
    Ok(console::render(status, &page))
}

async fn settings_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("saved") => Some("Saved."),
        Some("colour") => Some("The portal's colour is saved."),
        Some("logo") => Some("The portal's logo is saved."),
        Some("logo-removed") => Some("The portal's logo is removed."),
        _ => None,
    };
    settings_render(
        &state,
        &actor,
        StatusCode::OK,
        Shell::new(&actor, SETTINGS).done(done),
    )
    .await
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    default_access: String,
    /// One origin per line; absent from an older form: unchanged.
    origins: Option<String>,
}

async fn settings_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: SettingsForm = console::form(&headers, &body)?;
    let allowed = match form.default_access.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            let shell = Shell::new(&actor, SETTINGS)
                .error("choose whether contacts may sign in by default: on or off".to_owned());
            return settings_render(&state, &actor, StatusCode::UNPROCESSABLE_ENTITY, shell).await;
        }
    };
    let input = PortalSettingsIn {
        default_access: allowed,
        origins: form.origins.map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect()
        }),
    };
    let settings = match input.validate() {
        Ok(settings) => settings,
        Err(errors) => {
            let why = errors
                .iter()
                .map(|e| {
                    let line = e
                        .field
                        .strip_prefix("origins[")
                        .and_then(|rest| rest.strip_suffix(']'))
                        .and_then(|n| n.parse::<usize>().ok())
                        .map_or(String::new(), |n| format!("line {}: ", n + 1));
                    format!("{line}{}", e.message)
                })
                .collect::<Vec<_>>()
                .join("; ");
            let shell = Shell::new(&actor, SETTINGS).error(format!("Sites not saved: {why}"));
            return settings_render(&state, &actor, StatusCode::UNPROCESSABLE_ENTITY, shell).await;
        }
    };
    let origin = audit::origin(&actor, &client);
    app::set_settings(&state, &actor, &origin, &settings).await?;
    Ok(see_other(
        &format!("{SETTINGS}?done=saved"),
        is_htmx(&headers),
    ))
}

/// Whether the settings page may be shown to `actor` (`settings.security`, its guard): a role
/// that may change the look only (`workspace.manage`) is told a refusal without the page, which
/// lists who may sign in by default and the sites that may call the portal API.
fn may_see_settings(actor: &Actor) -> bool {
    actor.role.grants(Permission::SettingsSecurity)
}

#[derive(Deserialize)]
struct ColourForm {
    #[serde(default)]
    colour: String,
}

async fn colour_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: ColourForm = console::form(&headers, &body)?;
    let input = BrandingIn {
        colour: Some(form.colour.clone()),
    };
    let colour = match input.validate() {
        Ok(colour) => colour,
        Err(errors) if !may_see_settings(&actor) => return Err(Problem::validation(errors)),
        Err(errors) => {
            let why = errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let shell = Shell::new(&actor, SETTINGS).error(format!("Colour not saved: {why}"));
            return settings_render_with(
                &state,
                &actor,
                StatusCode::UNPROCESSABLE_ENTITY,
                shell,
                Some(form.colour),
            )
            .await;
        }
    };
    let origin = audit::origin(&actor, &client);
    brand::set_colour(&state, &actor, &origin, colour).await?;
    Ok(see_other(
        &format!("{SETTINGS}?done=colour"),
        is_htmx(&headers),
    ))
}

/// A logo from the settings page: a refused file (too large, not a PNG, JPEG or WebP image)
/// is said on the page, nothing changed.
async fn logo_upload(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let sent = match crate::upload::one_file_within(&headers, body, LOGO_MAX_BYTES, logo_too_large)
        .await
    {
        Ok(sent) => Ok(sent.bytes),
        Err(problem) => Err(problem.0),
    };
    let origin = audit::origin(&actor, &client);
    let result = match sent {
        Ok(bytes) => brand::set_logo(&state, &actor, &origin, &bytes)
            .await
            .map(|_| ()),
        Err(refused) => Err(refused),
    };
    match result {
        Ok(()) => Ok(see_other(
            &format!("{SETTINGS}?done=logo"),
            is_htmx(&headers),
        )),
        Err(refused) if !may_see_settings(&actor) => Err(Problem(refused)),
        Err(refused) if (400..500).contains(&refused.code.status()) => {
            let status = StatusCode::from_u16(refused.code.status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let shell =
                Shell::new(&actor, SETTINGS).error(format!("Logo not saved: {}", refused.detail));
            settings_render(&state, &actor, status, shell).await
        }
        Err(e) => Err(Problem(e)),
    }
}

async fn logo_remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let _: EmptyForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    brand::remove_logo(&state, &actor, &origin).await?;
    Ok(see_other(
        &format!("{SETTINGS}?done=logo-removed"),
        is_htmx(&headers),
    ))
}

#[derive(Deserialize)]
struct EmptyForm {}
