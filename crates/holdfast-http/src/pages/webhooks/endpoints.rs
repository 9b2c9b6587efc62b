//! `/app/settings/webhooks`: the workspace's outbound webhook endpoints — adding one (its
//! signing secret shown once), changing or deleting it, the event types, the delivery log with
//! each attempt's result and "send again", rotating the secret (shown once), and recovering
//! the undelivered messages of a failing or once-disabled endpoint. The same guards as
//! `/api/v1/webhooks` (step-up for every change; none for sending again or recovering, which
//! send messages only to the endpoint they were made for), through
//! `holdfast_app::webhooks::endpoints`.

use crate::audit;
use crate::console::settings::{RoleChoice, Shell, role_choices, role_name};
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::paging::{page_of, page_params};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::access::roles::all_roles;
use holdfast_app::webhooks::endpoints::{
    create_endpoint, delete_endpoint, deliveries, endpoint, recover, redeliver, rotate_secret,
    update_endpoint,
};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::{WebhookEndpointId, WebhookMessageId};
use holdfast_core::webhooks::{
    AttemptOut, EndpointOut, EventType, RecoverIn, RecoverOut, RotateIn, RotateOut, WebhookIn,
    WebhookPatch,
};
use holdfast_store::identity::auth::Actor;
use holdfast_store::webhooks as store;
use serde::Deserialize;
use std::collections::BTreeMap;

const HERE: &str = "/app/settings/webhooks";
const SEE: Guard = Guard::Staff {
    permission: Permission::WebhooksManage,
};
/// Where data goes and the secret that proves it came from us: a recent sign-in.
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::WebhooksManage,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Automation, |t| {
        t.add(
            Method::GET,
            HERE,
            SEE,
            Doc::page("Console", "Webhook endpoints and the form to add one"),
            get(webhooks_page),
        );
        t.add(
            Method::POST,
            HERE,
            CHANGE,
            Doc::page("Console", "Add a webhook endpoint (its secret shown once)"),
            post(webhook_create),
        );
        t.add(
            Method::GET,
            "/app/settings/webhooks/{id}",
            SEE,
            Doc::page("Console", "A webhook endpoint with its delivery log"),
            get(webhook_page),
        );
        t.add(
            Method::POST,
            "/app/settings/webhooks/{id}",
            CHANGE,
            Doc::page("Console", "Change a webhook endpoint").redirect(),
            post(webhook_update),
        );
        t.add(
            Method::POST,
            "/app/settings/webhooks/{id}/rotate-secret",
            CHANGE,
            Doc::page(
                "Console",
                "Rotate an endpoint's signing secret (shown once)",
            ),
            post(webhook_rotate),
        );
        t.add(
            Method::POST,
            "/app/settings/webhooks/{id}/delete",
            CHANGE,
            Doc::page("Console", "Delete a webhook endpoint").redirect(),
            post(webhook_delete),
        );
        t.add(
            Method::POST,
            "/app/settings/webhooks/{id}/messages/{message_id}/redeliver",
            SEE,
            Doc::page("Console", "Send a webhook message again").redirect(),
            post(webhook_redeliver),
        );
        t.add(
            Method::POST,
            "/app/settings/webhooks/{id}/recover",
            SEE,
            Doc::page(
                "Console",
                "Send an endpoint's failed and held messages again",
            ),
            post(webhook_recover),
        );
    });
}

/// An event type as the forms offer it.
struct EventChoice {
    name: &'static str,
    about: &'static str,
    permission: &'static str,
    checked: bool,
}

fn event_choices(checked: &[String]) -> Vec<EventChoice> {
    EventType::ALL
        .iter()
        .map(|e| EventChoice {
            name: e.as_str(),
            about: e.describe(),
            permission: e.permission().as_str(),
            checked: checked.iter().any(|c| c == e.as_str()),
        })
        .collect()
}

/// The endpoint form's values: an endpoint's, or what was sent.
#[derive(Default)]
struct FormValues {
    url: String,
    description: String,
    events: Vec<String>,
    /// Empty: the creator's own role (new), or the endpoint's current role (change).
    role: String,
    enabled: bool,
}

impl FormValues {
    fn of(endpoint: &EndpointOut) -> FormValues {
        FormValues {
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            events: endpoint.event_types.clone(),
            role: String::new(),
            enabled: endpoint.enabled,
        }
    }

    /// `url`, `description`, `event:<type>` for each box ticked, `role`, `enabled`.
    fn sent(sent: &BTreeMap<String, String>) -> FormValues {
        FormValues {
            url: sent.get("url").cloned().unwrap_or_default(),
            description: sent.get("description").cloned().unwrap_or_default(),
            events: sent
                .keys()
                .filter_map(|k| k.strip_prefix("event:"))
                .map(str::to_owned)
                .collect(),
            role: sent.get("role").cloned().unwrap_or_default(),
            enabled: sent.get("enabled").is_some_and(|v| v == "true"),
        }
    }

    fn role(&self) -> Option<String> {
        Some(self.role.trim().to_owned()).filter(|r| !r.is_empty())
    }
}

fn state_of(endpoint: &EndpointOut) -> String {
    match (endpoint.enabled, endpoint.disabled_reason.as_deref()) {
        (true, _) if endpoint.consecutive_failures > 0 => "enabled, failing".to_owned(),
        (true, _) => "enabled".to_owned(),
        (false, Some("failing")) => "disabled after failing".to_owned(),
        (false, _) => "disabled".to_owned(),
    }
}

struct ShownEndpoint {
    id: String,
    url: String,
    description: String,
    events: Vec<String>,
    role: String,
    state: String,
    enabled: bool,
    failures: i64,
    /// When the current streak of failures began.
    failing_since: Option<String>,
    overlap_until: Option<String>,
}

impl ShownEndpoint {
    fn of(endpoint: &EndpointOut, roles: &[holdfast_core::access::roles::RoleOut]) -> Self {
        ShownEndpoint {
            id: endpoint.id.clone(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            events: endpoint.event_types.clone(),
            role: role_name(roles, &endpoint.role),
            state: state_of(endpoint),
            enabled: endpoint.enabled,
            failures: endpoint.consecutive_failures,
            failing_since: endpoint.failing_since.map(console::when),
            overlap_until: endpoint.previous_secret_expires_at.map(console::when),
        }
    }
}

#[derive(Template)]
#[template(path = "settings/webhooks.html")]
struct WebhooksPage {
    frame: Frame,
    shell: Shell,
    endpoints: Vec<ShownEndpoint>,
    secret: Option<String>,
    form: FormValues,
    events: Vec<EventChoice>,
    roles: Vec<RoleChoice>,
    keep_role_label: &'static str,
}

async fn render_list(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    secret: Option<String>,
    form: FormValues,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::list(&mut tx, None, 200).await?;
    let roles = all_roles(&mut tx).await?;
    tx.commit().await?;
    let endpoints = rows
        .iter()
        .map(|e| ShownEndpoint::of(&e.out(), &roles))
        .collect();
    let page = WebhooksPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        endpoints,
        secret,
        events: event_choices(&form.events),
        form,
        roles: role_choices(&roles),
        keep_role_label: "Your own role",
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn webhooks_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("deleted") => Some("The endpoint is deleted, with its messages and log."),
        _ => None,
    };
    let shell = Shell::new(&actor, HERE).done(done);
    let form = FormValues {
        enabled: true,
        ..FormValues::default()
    };
    render_list(&state, &actor, StatusCode::OK, shell, None, form).await
}

async fn webhook_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let sent: BTreeMap<String, String> = console::form(&headers, &body)?;
    let form = FormValues::sent(&sent);
    let input = WebhookIn {
        url: form.url.clone(),
        description: form.description.clone(),
        event_types: form.events.clone(),
        role: form.role(),
        enabled: Some(form.enabled),
    };
    let created = match input.validate() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok(fields) => {
            let origin = audit::origin(&actor, &client);
            create_endpoint(&state, &actor, &origin, &fields)
                .await
                .map_err(Problem)
        }
    };
    match created {
        Ok(created) => {
            let shell = Shell::new(&actor, HERE).done(Some("The endpoint is added."));
            let blank = FormValues {
                enabled: true,
                ..FormValues::default()
            };
            render_list(
                &state,
                &actor,
                StatusCode::CREATED,
                shell,
                Some(created.secret),
                blank,
            )
            .await
        }
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, HERE).error(message);
            render_list(&state, &actor, status, shell, None, form).await
        }
    }
}

struct ShownAttempt {
    message_id: String,
    event_type: String,
    when: String,
    result: String,
    ok: bool,
    attempt: i64,
    trigger: String,
    latency_ms: i64,
}

impl ShownAttempt {
    fn of(a: AttemptOut) -> ShownAttempt {
        let ok = a.response_status.is_some_and(|s| (200..300).contains(&s));
        let result = match (a.response_status, a.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error,
            (None, None) => "no answer".to_owned(),
        };
        ShownAttempt {
            message_id: a.message_id,
            event_type: a.event_type,
            when: console::when(a.created_at),
            result,
            ok,
            attempt: a.attempt,
            trigger: a.trigger,
            latency_ms: a.latency_ms,
        }
    }
}

#[derive(Template)]
#[template(path = "settings/webhook.html")]
struct WebhookPage {
    frame: Frame,
    shell: Shell,
    endpoint: ShownEndpoint,
    secret: Option<String>,
    secret_overlap: Option<String>,
    form: FormValues,
    events: Vec<EventChoice>,
    roles: Vec<RoleChoice>,
    keep_role_label: String,
    attempts: Vec<ShownAttempt>,
    older: Option<String>,
    log_refused: Option<String>,
    /// How far back a recovery reaches, as offered (hours, label, chosen).
    recover_choices: Vec<(i64, &'static str, bool)>,
}

/// What one endpoint's page shows besides the endpoint.
#[derive(Default)]
struct Extra {
    rotated: Option<RotateOut>,
    form: Option<FormValues>,
    cursor: Option<String>,
}

const HOUR_MS: i64 = 60 * 60 * 1000;

/// How far back a recovery may reach, in hours, as the form offers it (the API takes any time
/// in the last 30 days).
const RECOVER_HOURS: [(i64, &str); 6] = [
    (1, "the last hour"),
    (24, "the last day"),
    (72, "the last 3 days"),
    (168, "the last week"),
    (336, "the last 2 weeks"),
    (720, "the last 30 days (the furthest)"),
];

/// The recovery's choices, the first reaching back to the failures' start chosen (a day while
/// the endpoint is healthy).
fn recover_choices(failing_since: Option<i64>, now_ms: i64) -> Vec<(i64, &'static str, bool)> {
    let wanted = failing_since.map_or(24, |since| {
        // An hour before the first failed attempt: its message was made a little earlier.
        (now_ms - since + HOUR_MS).div_euclid(HOUR_MS) + 1
    });
    let chosen = RECOVER_HOURS
        .iter()
        .map(|(hours, _)| *hours)
        .find(|hours| *hours >= wanted)
        .unwrap_or(720);
    RECOVER_HOURS
        .iter()
        .map(|(hours, label)| (*hours, *label, *hours == chosen))
        .collect()
}

fn endpoint_id(text: &str) -> ApiResult<WebhookEndpointId> {
    WebhookEndpointId::parse(text).ok_or_else(|| Problem::not_found("webhook endpoint"))
}

async fn render_one(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    id: &WebhookEndpointId,
    extra: Extra,
) -> ApiResult<Response> {
    let (limit, before) = page_params(None, extra.cursor.as_deref())?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = endpoint(&mut tx, id).await?.out();
    let roles = all_roles(&mut tx).await?;
    // The log holds what the endpoint's role could see: a reader without that reach is told so.
    let log = deliveries(&mut tx, actor, id, before.as_deref(), limit).await;
    tx.commit().await?;
    let (attempts, older, log_refused) = match log {
        Ok(rows) => {
            let page = page_of(rows, limit, |a| a.id.clone());
            let older = page
                .next_cursor
                .map(|c| format!("{HERE}/{}?cursor={c}", found.id));
            (
                page.data.into_iter().map(ShownAttempt::of).collect(),
                older,
                None,
            )
        }
        Err(e) if e.code == ErrorCode::Forbidden => (Vec::new(), None, Some(e.detail)),
        Err(e) => return Err(Problem(e)),
    };
    let form = extra.form.unwrap_or_else(|| FormValues::of(&found));
    let page = WebhookPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        keep_role_label: format!("Keep its role ({})", role_name(&roles, &found.role)),
        endpoint: ShownEndpoint::of(&found, &roles),
        secret_overlap: extra
            .rotated
            .as_ref()
            .and_then(|r| r.previous_secret_expires_at)
            .map(console::when),
        secret: extra.rotated.map(|r| r.secret),
        events: event_choices(&form.events),
        form,
        roles: role_choices(&roles),
        attempts,
        older,
        log_refused,
        recover_choices: recover_choices(found.failing_since, state.clock.now_ms()),
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct OneQuery {
    done: Option<String>,
    cursor: Option<String>,
}

async fn webhook_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<OneQuery>,
) -> ApiResult<Response> {
    let id = endpoint_id(&id)?;
    let done = match query.done.as_deref() {
        Some("saved") => Some("The endpoint is changed."),
        Some("queued") => Some("The message is queued to be sent again."),
        _ => None,
    };
    let shell = Shell::new(&actor, HERE).done(done);
    let extra = Extra {
        cursor: query.cursor,
        ..Extra::default()
    };
    render_one(&state, &actor, StatusCode::OK, shell, &id, extra).await
}

/// This workspace's endpoint, or 404 (before the form is read: another workspace's id is
/// never told apart by its form).
async fn existing(state: &AppState, actor: &Actor, id: &str) -> ApiResult<WebhookEndpointId> {
    let id = endpoint_id(id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    endpoint(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(id)
}

/// The endpoint's page again with what went wrong (and the form as sent).
async fn refused(
    state: &AppState,
    actor: &Actor,
    id: &WebhookEndpointId,
    problem: ApiError,
    form: Option<FormValues>,
) -> ApiResult<Response> {
    if problem.code == ErrorCode::NotFound {
        return Err(Problem(problem));
    }
    let (status, message) = console::explain(&Problem(problem));
    let shell = Shell::new(actor, HERE).error(message);
    let extra = Extra {
        form,
        ..Extra::default()
    };
    render_one(state, actor, status, shell, id, extra).await
}

async fn webhook_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = existing(&state, &actor, &id).await?;
    let sent: BTreeMap<String, String> = console::form(&headers, &body)?;
    let form = FormValues::sent(&sent);
    let patch = WebhookPatch {
        url: Some(form.url.clone()),
        description: Some(form.description.clone()),
        event_types: Some(form.events.clone()),
        role: form.role(),
        enabled: Some(form.enabled),
    };
    let origin = audit::origin(&actor, &client);
    match update_endpoint(&state, &actor, &origin, &id, &patch).await {
        Ok(_) => Ok(see_other(
            &format!("{HERE}/{id}?done=saved"),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, e, Some(form)).await,
    }
}

#[derive(Deserialize)]
struct RotateForm {
    overlap_seconds: Option<String>,
}

async fn webhook_rotate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = existing(&state, &actor, &id).await?;
    let form: RotateForm = console::form(&headers, &body)?;
    let overlap = match form.overlap_seconds.as_deref().map(str::trim) {
        None | Some("") => RotateIn {
            overlap_seconds: None,
        }
        .overlap_ms(),
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) => RotateIn {
                overlap_seconds: Some(seconds),
            }
            .overlap_ms(),
            Err(_) => Err(vec![holdfast_core::validate::FieldError::new(
                "overlap_seconds",
                "must be a whole number of seconds",
            )]),
        },
    };
    let rotated = match overlap {
        Err(errors) => Err(ApiError::validation(errors)),
        Ok(overlap) => {
            let origin = audit::origin(&actor, &client);
            rotate_secret(&state, &actor, &origin, &id, overlap).await
        }
    };
    match rotated {
        Ok(rotated) => {
            let shell = Shell::new(&actor, HERE).done(Some("The secret is rotated."));
            let extra = Extra {
                rotated: Some(rotated),
                ..Extra::default()
            };
            render_one(&state, &actor, StatusCode::OK, shell, &id, extra).await
        }
        Err(e) => refused(&state, &actor, &id, e, None).await,
    }
}

async fn webhook_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = endpoint_id(&id)?;
    let origin = audit::origin(&actor, &client);
    match delete_endpoint(&state, &actor, &origin, &id).await {
        Ok(()) => Ok(see_other(
            &format!("{HERE}?done=deleted"),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, e, None).await,
    }
}

async fn webhook_redeliver(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path((id, message_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = endpoint_id(&id)?;
    let message_id = WebhookMessageId::parse(&message_id)
        .ok_or_else(|| Problem::not_found("webhook message"))?;
    let origin = audit::origin(&actor, &client);
    match redeliver(&state, &actor, &origin, &id, &message_id).await {
        Ok(_) => Ok(see_other(
            &format!("{HERE}/{id}?done=queued"),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, e, None).await,
    }
}

#[derive(Deserialize)]
struct RecoverForm {
    /// How many hours back from now to recover.
    hours: Option<String>,
}

/// What a recovery did, as the page says it.
fn recovered(out: &RecoverOut) -> String {
    let since = console::when(out.since);
    let mut said = match out.queued {
        0 => format!("Nothing to send again: no failed or held messages since {since}."),
        1 => format!("1 failed or held message since {since} is queued to be sent again."),
        n => format!("{n} failed or held messages since {since} are queued to be sent again."),
    };
    if out.more {
        said.push_str(" There are more: recover again to queue the rest.");
    }
    said
}

/// Queues the endpoint's failed and held messages since the chosen time to be sent again
/// (each keeps its webhook-id), as `POST /api/v1/webhooks/{id}/recover`. A disabled endpoint
/// is refused (enable it first); the page says how many were queued.
async fn webhook_recover(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = existing(&state, &actor, &id).await?;
    let form: RecoverForm = console::form(&headers, &body)?;
    let hours = form.hours.as_deref().map(str::trim).unwrap_or_default();
    let hours = hours.parse::<i64>().ok().filter(|h| *h > 0);
    let origin = audit::origin(&actor, &client);
    let done = recover(&state, &actor, &origin, &id, |now| {
        let Some(hours) = hours else {
            return Err(ApiError::validation(vec![
                holdfast_core::validate::FieldError::new(
                    "hours",
                    "must be a whole number of hours back from now, from 1 to 720 (30 days)",
                ),
            ]));
        };
        RecoverIn {
            since: Some(serde_json::json!(
                now.saturating_sub(hours.saturating_mul(HOUR_MS))
            )),
        }
        .since_ms(now)
        .map_err(ApiError::validation)
    })
    .await;
    match done {
        Ok(out) => {
            let shell = Shell::new(&actor, HERE).done(Some(&recovered(&out)));
            render_one(&state, &actor, StatusCode::OK, shell, &id, Extra::default()).await
        }
        Err(e) => refused(&state, &actor, &id, e, None).await,
    }
}
